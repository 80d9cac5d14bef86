using System.Text;
using System.Text.Unicode;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// Reads a configuration file as text. Invariant: returns the exact text of a file of at most
/// <see cref="ConfigLimits.MaxFileBytes"/> bytes of valid UTF-8 (a leading BOM is dropped), or null after adding one
/// error; it never throws, never reads more than one byte past the limit, and never replaces a byte it cannot decode
/// (a password with a stray Latin-1 byte would otherwise silently become a different password).
/// </summary>
internal static class ConfigFileReader
{
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    private static string Limit => $"{ConfigLimits.MaxFileBytes} bytes ({ConfigLimits.MaxFileBytes >> 20} MB)";

    public static string? Read(string path, ErrorSink errors)
    {
        byte[] bytes;
        int length;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            // A regular file says its size: refuse before reading. A pipe or a device does not: read up to the limit.
            if (stream.CanSeek && stream.Length > ConfigLimits.MaxFileBytes)
            {
                errors.Add(0, $"the configuration file is {stream.Length} bytes; the limit is {Limit}");
                return null;
            }
            (bytes, length) = ReadAtMost(stream, ConfigLimits.MaxFileBytes + 1, stream.CanSeek ? (int)stream.Length + 1 : 64 * 1024);
        }
        catch (Exception e)
        {
            // IOException, UnauthorizedAccessException (also a directory), ArgumentException (a bad path), ...: all
            // are "cannot read", none may end the process.
            errors.Add(0, $"cannot read the configuration file: {e.Message}");
            return null;
        }
        if (length > ConfigLimits.MaxFileBytes)
        {
            errors.Add(0, $"the configuration file is larger than the limit of {Limit}");
            return null;
        }
        return Decode(bytes.AsSpan(0, length), errors);
    }

    /// <summary>
    /// Reads <paramref name="path"/> up to one byte past <paramref name="maxBytes"/> (a length over it means the file is
    /// larger), sized by the file when it says its size: the bounded read of every file the configuration names (secret
    /// files, acl_file), so a mistaken path such as a device is never read without end. Throws what opening throws.
    /// </summary>
    internal static (byte[] Buffer, int Length) ReadAtMost(string path, int maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return ReadAtMost(stream, maxBytes + 1, stream.CanSeek ? (int)Math.Min(stream.Length + 1, maxBytes + 1L) : 64 * 1024);
    }

    /// <summary>Reads until the end of <paramref name="stream"/> or until <paramref name="max"/> bytes are held.</summary>
    private static (byte[] Buffer, int Length) ReadAtMost(Stream stream, int max, int initialSize)
    {
        var buffer = new byte[Math.Clamp(initialSize, 1, max)];
        int length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length >= max) return (buffer, length);
                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, max));
            }
            int read = stream.Read(buffer, length, buffer.Length - length);
            if (read == 0) return (buffer, length);
            length += read;
        }
    }

    /// <summary>Strict UTF-8: the first invalid byte is reported with its line (counted in '\n') and column (in bytes).</summary>
    private static string? Decode(ReadOnlySpan<byte> bytes, ErrorSink errors)
    {
        if (bytes.StartsWith(Bom)) bytes = bytes[Bom.Length..];
        if (Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);

        int offset = FirstInvalidByte(bytes);
        var before = bytes[..offset];
        int line = 1 + before.Count((byte)'\n');
        int column = offset - before.LastIndexOf((byte)'\n');
        string what = offset < bytes.Length ? $"byte 0x{bytes[offset]:X2}" : "an unfinished character";
        errors.Add(line, $"invalid UTF-8: {what} at column {column} (counted in bytes) does not begin a valid UTF-8 "
            + "character; save the file as UTF-8 (Rampart neither guesses another encoding nor replaces the byte)");
        return null;
    }

    private static int FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (offset < bytes.Length && Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed) == System.Buffers.OperationStatus.Done)
            offset += consumed;
        return offset;
    }
}
