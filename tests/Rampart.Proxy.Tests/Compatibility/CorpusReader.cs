using System.Text;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// Reads the differential corpus: text files, one command per line, arguments separated by spaces. An argument with
/// spaces, quotes or non-printable bytes is written in double quotes with redis-cli's escapes (<c>\"</c> <c>\\</c>
/// <c>\n</c> <c>\r</c> <c>\t</c> <c>\xHH</c>); <c>""</c> is the empty string. Blank lines and lines starting with
/// <c>#</c> are skipped. A malformed line fails the load with its file and line, so the corpus cannot silently shrink.
/// </summary>
public static class CorpusReader
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Compatibility", "corpus");

    /// <summary>Every corpus file, in name order (the order the files are run in).</summary>
    public static IReadOnlyList<string> Files() =>
        System.IO.Directory.GetFiles(Directory, "*.redis").OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToArray();

    public static IReadOnlyList<CorpusCommand> ReadFile(string path)
    {
        string name = Path.GetFileName(path);
        var commands = new List<CorpusCommand>();
        string[] lines = File.ReadAllLines(path, Encoding.UTF8);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            commands.Add(new CorpusCommand(name, i + 1, Split(line, name, i + 1)));
        }
        return commands;
    }

    public static byte[][] Split(string line, string source = "(line)", int lineNumber = 0)
    {
        var args = new List<byte[]>();
        int pos = 0;
        while (true)
        {
            while (pos < line.Length && line[pos] == ' ') pos++;
            if (pos == line.Length) break;
            var arg = new List<byte>();
            if (line[pos] == '"')
            {
                pos++;
                while (true)
                {
                    if (pos >= line.Length) throw new FormatException($"{source}:{lineNumber}: unbalanced quotes");
                    char c = line[pos++];
                    if (c == '"') break;
                    if (c != '\\') { arg.AddRange(Encoding.UTF8.GetBytes(c.ToString())); continue; }
                    if (pos >= line.Length) throw new FormatException($"{source}:{lineNumber}: backslash at end of line");
                    char e = line[pos++];
                    switch (e)
                    {
                        case 'n': arg.Add((byte)'\n'); break;
                        case 'r': arg.Add((byte)'\r'); break;
                        case 't': arg.Add((byte)'\t'); break;
                        case '"' or '\\': arg.Add((byte)e); break;
                        case 'x' when pos + 2 <= line.Length && IsHex(line[pos]) && IsHex(line[pos + 1]):
                            arg.Add(Convert.ToByte(line.Substring(pos, 2), 16));
                            pos += 2;
                            break;
                        default: throw new FormatException($"{source}:{lineNumber}: unknown escape \\{e}");
                    }
                }
                if (pos < line.Length && line[pos] != ' ') throw new FormatException($"{source}:{lineNumber}: closing quote not followed by a space");
            }
            else
            {
                int start = pos;
                while (pos < line.Length && line[pos] != ' ') pos++;
                arg.AddRange(Encoding.UTF8.GetBytes(line[start..pos]));
            }
            args.Add(arg.ToArray());
        }
        if (args.Count == 0) throw new FormatException($"{source}:{lineNumber}: no command");
        return args.ToArray();
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    /// <summary>An argument as the corpus would write it.</summary>
    public static string Quote(byte[] arg)
    {
        bool plain = arg.Length > 0 && arg.All(b => b > 0x20 && b < 0x7f && b != '"' && b != '\\');
        if (plain) return Encoding.ASCII.GetString(arg);
        return "\"" + Escape(arg) + "\"";
    }

    /// <summary>Bytes as printable text: <c>\r\n</c> shown as such, other non-printable bytes as <c>\xHH</c>.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            sb.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }
        return sb.ToString();
    }
}
