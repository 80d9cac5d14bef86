namespace Rampart.Proxy.Security;

/// <summary>
/// TLS material read from files, read again when the files change: <see cref="Current"/> looks at the files' write
/// times and lengths at most once a second (so a handshake flood costs no file-system calls), and builds new material
/// when they moved; <see cref="Reload"/> reads them again whatever they say (SIGHUP). The material is immutable and
/// swapped whole, so a handshake in progress keeps the one it started with and no connection is dropped. Files that
/// cannot be used keep the last good material and say why once (<see cref="LastError"/>).
/// </summary>
internal abstract class TlsFileWatch<TMaterial> where TMaterial : class
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

    private readonly string?[] _files;
    private readonly TimeProvider _time;
    private volatile TMaterial _material;
    private (DateTime, long)[] _stamps;
    private long _checkedAt;
    private int _checking;

    protected TlsFileWatch(TimeProvider time, params string?[] files)
    {
        _time = time;
        _files = files;
        _stamps = TlsFiles.Stamps(files);
        _checkedAt = time.GetTimestamp();
        _material = Build();
    }

    /// <summary>Why the last read of changed files failed (the previous material is still in use), or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>How many times new material was read after the first.</summary>
    public int Reloads { get; private set; }

    /// <summary>Reads the files into new material; throws <see cref="TlsFileException"/> when they cannot be used.</summary>
    protected abstract TMaterial Build();

    /// <summary>The material to use now, read again first if a file changed since the last look (at most once a second).</summary>
    public TMaterial Current
    {
        get
        {
            long now = _time.GetTimestamp();
            if (_time.GetElapsedTime(Volatile.Read(ref _checkedAt), now) >= CheckEvery && Interlocked.Exchange(ref _checking, 1) == 0)
            {
                try
                {
                    Volatile.Write(ref _checkedAt, now);
                    var stamps = TlsFiles.Stamps(_files);
                    if (!stamps.SequenceEqual(_stamps)) Read(stamps);
                }
                finally
                {
                    Volatile.Write(ref _checking, 0);
                }
            }
            return _material;
        }
    }

    /// <summary>Reads the files again now (a SIGHUP reload); false, with <see cref="LastError"/>, when they cannot be used.</summary>
    public bool Reload()
    {
        while (Interlocked.Exchange(ref _checking, 1) != 0) Thread.Yield();
        try
        {
            return Read(TlsFiles.Stamps(_files));
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private bool Read((DateTime, long)[] stamps)
    {
        _stamps = stamps; // a file half-written now is looked at again when it changes once more
        try
        {
            _material = Build();
            LastError = null;
            Reloads++;
            return true;
        }
        catch (TlsFileException e)
        {
            LastError = e.Message;
            return false;
        }
    }
}
