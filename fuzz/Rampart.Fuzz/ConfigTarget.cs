using Rampart.Proxy.Configuration;

namespace Rampart.Fuzz;

/// <summary>
/// The bytes of a configuration file into <see cref="ConfigLoader.LoadFile"/>, from a file as <c>rampart check</c> and
/// a reload read it. A configuration or <c>file:line: reason</c> errors are the outcomes; an exception, a hang, a crash
/// or the loader's "internal error" (an exception it caught from a reader) is a finding, and so is an error without a
/// reason or with a line that is not in the file.
/// </summary>
public static class ConfigTarget
{
    // scripts/fuzz names a scratch folder it empties on every run (afl-fuzz kills its targets, which then cannot clean
    // up); one file per process, as a crashed child's successor runs beside it.
    private static readonly string Directory = Environment.GetEnvironmentVariable("RAMPART_FUZZ_SCRATCH") is { Length: > 0 } scratch
        ? System.IO.Directory.CreateDirectory(scratch).FullName
        : System.IO.Directory.CreateTempSubdirectory("rampart-fuzz-config-").FullName;
    private static readonly string Path = System.IO.Path.Combine(Directory, $"nutcracker-{Environment.ProcessId}.yml");

    public static void Run(ReadOnlySpan<byte> data)
    {
        using (var file = new FileStream(Path, FileMode.Create, FileAccess.Write))
            file.Write(data);
        var result = ConfigLoader.LoadFile(Path);
        int lines = LineCount(data);
        foreach (var error in result.Errors)
        {
            FuzzFinding.Check(!error.Message.StartsWith("internal error", StringComparison.Ordinal), error.ToString());
            FuzzFinding.Check(error.Message.Length > 0 && error.Line >= 0 && error.Line <= lines,
                $"error at line {error.Line} of a {lines}-line file: {error}");
        }
        FuzzFinding.Check(result.IsValid == (result.Errors.Count == 0), $"valid={result.IsValid} with {result.Errors.Count} errors");
    }

    // An upper bound on the lines a reader may name: YAML also breaks lines at a lone CR, NEL, LS and PS, which an editor
    // may or may not show; a file that is not UTF-8 is reported at a line counted in '\n', which is fewer.
    private static int LineCount(ReadOnlySpan<byte> data)
    {
        int breaks = data.Count((byte)'\n') + data.Count((byte)'\r');
        breaks += data.Count("\u0085"u8) + data.Count("\u2028"u8) + data.Count("\u2029"u8);
        return 1 + breaks;
    }
}
