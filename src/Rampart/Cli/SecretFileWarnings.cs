using Rampart.Proxy.Configuration;

namespace Rampart.Cli;

/// <summary>
/// Which files holding secrets other users may open: each secret file (<c>redis_auth_file</c>, <c>password_file</c>,
/// <c>acl_file</c>, the admin and TLS <c>key_file</c>s), and the configuration file itself when it holds a secret written inline.
/// As ssh does for private keys, any permission for group or others counts (<c>mode &amp; 0o077</c>): a group that can
/// write an acl_file can add itself a user. A warning, never an error: the owner may have reasons (a shared group).
/// </summary>
internal static class SecretFileWarnings
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static IEnumerable<string> For(ProxyConfig config) => For(config, Mode);

    internal static IEnumerable<string> For(ProxyConfig config, Func<string, UnixFileMode?> modeOf)
    {
        if (OperatingSystem.IsWindows()) yield break;
        var warned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var secret in config.Secrets)
        {
            string? file = secret.Origin switch
            {
                SecretOrigin.File => secret.File,
                SecretOrigin.ConfigFile => config.Source,
                _ => null,
            };
            if (file is null || modeOf(file) is not { } mode || (mode & GroupOrOthers) == 0 || !warned.Add(file)) continue;
            string octal = Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');
            yield return secret.Origin == SecretOrigin.File
                ? $"{config.Source}:{secret.Line}: warning: {secret.Setting}: {file} is open to group or others (mode {octal}); chmod 600 it (or 400)"
                : $"{config.Source}:{secret.Line}: warning: {secret.Setting} is written in the configuration file, which is open to "
                  + $"group or others (mode {octal}); chmod 600 it, or move the secret to a _file key or ${{ENV_VAR}}";
        }
    }

    private static UnixFileMode? Mode(string path)
    {
        try
        {
            return OperatingSystem.IsWindows() ? null : File.GetUnixFileMode(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null; // it was read a moment ago; gone now means there is nothing left to protect
        }
    }
}
