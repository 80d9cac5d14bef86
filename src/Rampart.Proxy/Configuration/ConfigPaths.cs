namespace Rampart.Proxy.Configuration;

/// <summary>Paths written in a configuration file: a relative one is relative to the file's directory, not to the cwd.</summary>
internal static class ConfigPaths
{
    /// <param name="configFile">The config file's path (ErrorSink.File); a name that is not a file (a test's "(test)")
    /// leaves relative paths relative to the working directory.</param>
    public static string Resolve(string path, string configFile) =>
        Path.IsPathRooted(path) || configFile is not { Length: > 0 } || !File.Exists(configFile)
            ? path
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configFile)) ?? "", path);
}
