using System.Security.Authentication;
using Rampart.Proxy.Security;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// Reads a pool's <c>tls:</c> (its TLS listener) and <c>server_tls:</c> (TLS to its servers) blocks, and checks the
/// files they name as the proxy would use them: readable, PEM, and a key that belongs to its certificate.
/// </summary>
internal static class TlsConfigReader
{
    private static readonly string[] ListenerKeys = ["listen", "cert_file", "key_file", "ca_file", "client_auth", "min_version"];
    private static readonly string[] ServerKeys = ["ca_file", "cert_file", "key_file", "server_name"];
    public static readonly string[] ClientAuthValues = ["none", "optional", "required"];
    public static readonly string[] MinVersions = ["1.2", "1.3"];

    public static ListenerTlsConfig? ReadListener(string poolContext, int line, YamlNode node, ErrorSink errors)
    {
        var context = $"{poolContext} tls";
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, $"{context} must be a mapping (listen, cert_file, key_file, ca_file, client_auth, min_version)");
            return null;
        }
        int before = errors.Count;
        var v = new ScalarValues(errors, context);
        ListenAddress? listen = null;
        string? cert = null, key = null, ca = null;
        int certLine = line, caLine = line, authLine = line;
        var auth = ClientAuthMode.None;
        var protocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        foreach (var (name, entry) in MappingKeys.Known(mapping, ListenerKeys, context, errors))
        {
            var value = entry.Value;
            switch (name)
            {
                case "listen":
                    if (v.String(name, value) is { } text)
                    {
                        if (ListenAddressParser.TryParse(text, out var parsed, out var error)) listen = parsed;
                        else errors.Add(value.Line, $"{context}: listen {error}");
                    }
                    break;
                case "cert_file":
                    cert = FilePath(v, name, value);
                    certLine = value.Line;
                    break;
                case "key_file":
                    key = FilePath(v, name, value);
                    break;
                case "ca_file":
                    ca = FilePath(v, name, value);
                    caLine = value.Line;
                    break;
                case "client_auth":
                    authLine = value.Line;
                    if (OneOf(v, name, value, ClientAuthValues) is { } mode)
                        auth = mode switch { "optional" => ClientAuthMode.Optional, "required" => ClientAuthMode.Required, _ => ClientAuthMode.None };
                    break;
                case "min_version":
                    if (OneOf(v, name, value, MinVersions) is { } min)
                        protocols = min == "1.3" ? SslProtocols.Tls13 : SslProtocols.Tls12 | SslProtocols.Tls13;
                    break;
            }
        }
        if (listen is null && !mapping.Entries.Any(e => e.Name == "listen"))
            errors.Add(line, $"{context}: listen is missing (the TLS listener's own address, beside the pool's plain listen)");
        if (cert is null && !mapping.Entries.Any(e => e.Name == "cert_file"))
            errors.Add(line, $"{context}: cert_file is missing (the PEM certificate the listener presents)");
        if (auth != ClientAuthMode.None && ca is null && !mapping.Entries.Any(e => e.Name == "ca_file"))
            errors.Add(authLine, $"{context}: client_auth {auth.ToString().ToLowerInvariant()} needs ca_file (the CA clients' certificates must chain to)");
        if (errors.Count != before) return null;
        // A key in the certificate's own file (as HAProxy's crt) when key_file is left out.
        key ??= cert!;
        Check(errors, certLine, context, () => TlsFiles.LoadCertificate(cert!, key));
        if (ca is not null) Check(errors, caLine, context, () => TlsFiles.LoadCa(ca));
        if (errors.Count != before) return null;
        return new ListenerTlsConfig
        {
            Listen = listen!, CertFile = cert!, KeyFile = key, CaFile = ca, ClientAuth = auth, Protocols = protocols, Line = line,
        };
    }

    public static ServerTlsConfig? ReadServer(string poolContext, int line, YamlNode node, ErrorSink errors)
    {
        var context = $"{poolContext} server_tls";
        if (node is YamlScalar { Value: "true" })
            return new ServerTlsConfig { Line = line }; // server_tls: true: the system's CAs, no client certificate
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, $"{context} must be true or a mapping (ca_file, cert_file, key_file, server_name)");
            return null;
        }
        int before = errors.Count;
        var v = new ScalarValues(errors, context);
        string? cert = null, key = null, ca = null, serverName = null;
        int certLine = line, caLine = line;
        foreach (var (name, entry) in MappingKeys.Known(mapping, ServerKeys, context, errors))
        {
            var value = entry.Value;
            switch (name)
            {
                case "ca_file":
                    ca = FilePath(v, name, value);
                    caLine = value.Line;
                    break;
                case "cert_file":
                    cert = FilePath(v, name, value);
                    certLine = value.Line;
                    break;
                case "key_file":
                    key = FilePath(v, name, value);
                    break;
                case "server_name":
                    serverName = v.String(name, value);
                    break;
            }
        }
        if (key is not null && cert is null)
            errors.Add(line, $"{context}: key_file without cert_file (the client certificate it is the key of)");
        if (errors.Count != before) return null;
        if (cert is not null) Check(errors, certLine, context, () => TlsFiles.LoadCertificate(cert, key ?? cert));
        if (ca is not null) Check(errors, caLine, context, () => TlsFiles.LoadCa(ca));
        if (errors.Count != before) return null;
        return new ServerTlsConfig { CaFile = ca, CertFile = cert, KeyFile = cert is null ? null : key ?? cert, ServerName = serverName, Line = line };
    }

    /// <summary>A file path, taken from the config file's directory when relative (as <c>acl_file</c>).</summary>
    private static string? FilePath(ScalarValues v, string key, YamlNode value)
    {
        if (v.String(key, value) is not { } path) return null;
        var config = v.Errors.File;
        return Path.IsPathRooted(path) || config is not { Length: > 0 } || !File.Exists(config)
            ? Path.GetFullPath(path)
            : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(config)) ?? "", path));
    }

    private static void Check(ErrorSink errors, int line, string context, Action load)
    {
        try
        {
            load();
        }
        catch (TlsFileException e)
        {
            errors.Add(line, $"{context}: {e.Message}");
        }
    }

    private static string? OneOf(ScalarValues v, string key, YamlNode value, string[] allowed)
    {
        if (v.String(key, value) is not { } text) return null;
        if (allowed.Contains(text)) return text;
        v.Errors.Add(value.Line, $"{v.Context}: {key} '{text}' is not valid; expected one of: {string.Join(", ", allowed)}");
        return null;
    }
}
