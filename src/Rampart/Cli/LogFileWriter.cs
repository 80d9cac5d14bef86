using System.Text;

namespace Rampart.Cli;

/// <summary>
/// The log file of <c>-o/--output</c>: appended to, flushed on every write, and reopened on SIGHUP as nutcracker does,
/// so logrotate can move the file away and signal the process.
/// </summary>
internal sealed class LogFileWriter : TextWriter
{
    private readonly string _path;
    private readonly Lock _lock = new();
    private StreamWriter _writer;

    public LogFileWriter(string path)
    {
        _path = path;
        _writer = Open(path);
    }

    public override Encoding Encoding => Encoding.UTF8;

    private static StreamWriter Open(string path) =>
        new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete), new UTF8Encoding(false))
        {
            AutoFlush = true,
        };

    /// <summary>Closes the file and opens the path again (after logrotate moved it).</summary>
    public void Reopen()
    {
        lock (_lock)
        {
            var fresh = Open(_path);
            _writer.Dispose();
            _writer = fresh;
        }
    }

    public override void Write(char value) { lock (_lock) _writer.Write(value); }
    public override void Write(string? value) { lock (_lock) _writer.Write(value); }
    public override void Write(char[] buffer, int index, int count) { lock (_lock) _writer.Write(buffer, index, count); }
    public override void Write(ReadOnlySpan<char> buffer) { lock (_lock) _writer.Write(buffer); }
    public override void WriteLine(string? value) { lock (_lock) _writer.WriteLine(value); }
    public override void Flush() { lock (_lock) _writer.Flush(); }

    protected override void Dispose(bool disposing)
    {
        if (disposing) lock (_lock) _writer.Dispose();
        base.Dispose(disposing);
    }
}
