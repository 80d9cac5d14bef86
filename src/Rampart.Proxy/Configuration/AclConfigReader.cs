using System.Text;
using System.Text.Unicode;
using Rampart.Proxy.Security;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// <c>rampart: acl</c> (a list of Redis ACL lines) and <c>acl_file</c> (Redis's aclfile format: one "user ..." line per
/// user, blank lines skipped). A wrong rule is an error at its line, in the YAML or in the file (file:line), so a bad
/// reload keeps the running users.
/// </summary>
internal static class AclConfigReader
{
    public static List<AclUser> ReadList(YamlNode node, ErrorSink errors)
    {
        var users = new List<AclUser>();
        if (node is not YamlSequence seq)
        {
            errors.Add(node.Line, "rampart acl must be a list of Redis ACL lines, such as \"user alice on >secret ~app:* +@read\"");
            return users;
        }
        foreach (var item in seq.Items)
        {
            if (item is not YamlScalar { IsNull: false } line)
            {
                errors.Add(item.Line, "rampart acl: each entry must be one ACL line (\"user NAME rules...\")");
                continue;
            }
            if (AclRuleParser.ParseLine(line.Value, out var error) is { } user) users.Add(user);
            else errors.Add(item.Line, "rampart acl: " + error);
            // ">pass" is a password in clear in the file (a "#hash" is not): rampart check looks at who can read it.
            if (line.Value.Split(' ').Any(rule => rule.StartsWith('>')))
                errors.Secrets.Add(new SecretSource("rampart acl", item.Line,
                    line.Written is null ? SecretOrigin.ConfigFile : SecretOrigin.Environment));
        }
        return users;
    }

    public static List<AclUser> ReadFile(string path, int line, ErrorSink errors)
    {
        var users = new List<AclUser>();
        string full = ConfigPaths.Resolve(path, errors.File);
        if (ReadLines(full, line, errors) is not { } lines) return users;
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            if (AclRuleParser.ParseLine(lines[i], out var error) is { } user) users.Add(user);
            else errors.Add(line, $"rampart acl_file {full}:{i + 1}: {error}");
        }
        return users;
    }

    /// <summary>
    /// The file's lines, read as the configuration file is: at most <see cref="ConfigLimits.MaxFileBytes"/> of strict
    /// UTF-8, so a mistaken path (a device, a log) is refused instead of read without end.
    /// </summary>
    private static string[]? ReadLines(string full, int line, ErrorSink errors)
    {
        byte[] bytes;
        int length;
        try
        {
            (bytes, length) = ConfigFileReader.ReadAtMost(full, ConfigLimits.MaxFileBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add(line, $"rampart acl_file: cannot read {full}: {e.Message}");
            return null;
        }
        if (length > ConfigLimits.MaxFileBytes)
        {
            errors.Add(line, $"rampart acl_file: {full} is larger than {ConfigLimits.MaxFileBytes >> 20} MB");
            return null;
        }
        if (!Utf8.IsValid(bytes.AsSpan(0, length)))
        {
            errors.Add(line, $"rampart acl_file: {full} is not valid UTF-8 (its content is not shown)");
            return null;
        }
        return Encoding.UTF8.GetString(bytes, 0, length).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
    }

    /// <summary>Both sources together; a user defined twice is an error (Redis's ACL LOAD refuses duplicates too).</summary>
    public static AclTable? Combine(List<AclUser>? fromList, List<AclUser>? fromFile, int line, ErrorSink errors)
    {
        if (fromList is null && fromFile is null) return null;
        var all = new List<AclUser>();
        foreach (var user in (fromList ?? []).Concat(fromFile ?? []))
        {
            if (all.Exists(u => u.Name == user.Name)) errors.Add(line, $"rampart acl: user '{user.Name}' is defined twice");
            else all.Add(user);
        }
        return new AclTable(all);
    }
}
