using System.Text;
using System.Text.Unicode;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// Reads a secret from its own file (<c>redis_auth_file</c>, <c>password_file</c>), as Docker and Kubernetes secrets
/// are mounted. Invariant: returns the file's strict UTF-8 text less one trailing newline ("\n" or "\r\n"), never
/// empty, at most <see cref="MaxBytes"/>; or null after one error that names the file and never quotes its content.
/// </summary>
internal static class SecretFileReader
{
    /// <summary>Far more than any password; a bound so a mistaken path (a log, a device) is not read whole.</summary>
    public const int MaxBytes = 64 * 1024;

    public static string? Read(string path, string setting, int line, ErrorSink errors)
    {
        string full = ConfigPaths.Resolve(path, errors.File);
        byte[] bytes;
        int length;
        try
        {
            (bytes, length) = ConfigFileReader.ReadAtMost(full, MaxBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add(line, $"{setting}: cannot read {full}: {e.Message}");
            return null;
        }
        if (length > MaxBytes)
        {
            errors.Add(line, $"{setting}: {full} is larger than {MaxBytes} bytes; it should hold one secret");
            return null;
        }
        if (!Utf8.IsValid(bytes.AsSpan(0, length)))
        {
            errors.Add(line, $"{setting}: {full} is not valid UTF-8 (its content is not shown)");
            return null;
        }
        string text = Encoding.UTF8.GetString(bytes, 0, length);
        // One trailing newline is how "echo pw > file" and most secret stores write it; more would be part of the secret.
        if (text.EndsWith("\r\n", StringComparison.Ordinal)) text = text[..^2];
        else if (text.EndsWith('\n')) text = text[..^1];
        if (text.Length == 0)
        {
            errors.Add(line, $"{setting}: {full} is empty");
            return null;
        }
        errors.Secrets.Add(new SecretSource(setting, line, SecretOrigin.File, full));
        return text;
    }
}
