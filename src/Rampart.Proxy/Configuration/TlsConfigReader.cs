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
        var files = new FileKeys(line);
        int authLine = line;
        var auth = ClientAuthMode.None;
        var protocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        foreach (var (name, entry) in MappingKeys.Known(mapping, ListenerKeys, context, errors))
        {
            var value = entry.Value;
            if (files.TryRead(v, name, value)) continue;
            switch (name)
            {
                case "listen":
                    if (v.String(name, value) is { } text)
                    {
                        if (ListenAddressParser.TryParse(text, out var parsed, out var error)) listen = parsed;
                        else errors.Add(value.Line, $"{context}: listen {error}");
                    }
                    break;
                case "client_auth":
                    authLine = value.Line;
                    if (PoolConfigReader.OneOf(v, name, value, ClientAuthValues) is { } mode)
                        auth = mode switch { "optional" => ClientAuthMode.Optional, "required" => ClientAuthMode.Required, _ => ClientAuthMode.None };
                    break;
                case "min_version":
                    if (PoolConfigReader.OneOf(v, name, value, MinVersions) is { } min)
                        protocols = min == "1.3" ? SslProtocols.Tls13 : SslProtocols.Tls12 | SslProtocols.Tls13;
                    break;
            }
        }
        if (listen is null && !mapping.Entries.Any(e => e.Name == "listen"))
            errors.Add(line, $"{context}: listen is missing (the TLS listener's own address, beside the pool's plain listen)");
        if (files.Cert is null && !mapping.Entries.Any(e => e.Name == "cert_file"))
            errors.Add(line, $"{context}: cert_file is missing (the PEM certificate the listener presents)");
        if (auth != ClientAuthMode.None && files.Ca is null && !mapping.Entries.Any(e => e.Name == "ca_file"))
            errors.Add(authLine, $"{context}: client_auth {auth.ToString().ToLowerInvariant()} needs ca_file (the CA clients' certificates must chain to)");
        files.Load(errors, context); // whatever else is wrong: one run of `rampart check` reports every error
        if (errors.Count != before) return null;
        return new ListenerTlsConfig
        {
            Listen = listen!, CertFile = files.Cert!, KeyFile = files.KeyOrCert!, CaFile = files.Ca, ClientAuth = auth, Protocols = protocols,
            Line = line,
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
        var files = new FileKeys(line);
        string? serverName = null;
        foreach (var (name, entry) in MappingKeys.Known(mapping, ServerKeys, context, errors))
        {
            if (!files.TryRead(v, name, entry.Value)) serverName = v.String(name, entry.Value); // server_name
        }
        if (files.Key is not null && files.Cert is null)
            errors.Add(line, $"{context}: key_file without cert_file (the client certificate it is the key of)");
        files.Load(errors, context); // whatever else is wrong: one run of `rampart check` reports every error
        if (errors.Count != before) return null;
        return new ServerTlsConfig { CaFile = files.Ca, CertFile = files.Cert, KeyFile = files.KeyOrCert, ServerName = serverName, Line = line };
    }

    /// <summary>
    /// The cert_file, key_file and ca_file keys both blocks share: read as paths (a relative one taken from the config
    /// file's directory, as <c>acl_file</c>), then loaded as the proxy will load them, errors at their lines.
    /// </summary>
    private sealed class FileKeys(int blockLine)
    {
        public string? Cert, Key, Ca;
        private int _certLine = blockLine, _keyLine = blockLine, _caLine = blockLine;

        /// <summary>The key of the certificate: key_file, or the certificate's own file (as HAProxy's crt) without it.</summary>
        public string? KeyOrCert => Cert is null ? null : Key ?? Cert;

        /// <summary>Reads <paramref name="name"/> if it is one of the file keys; false for any other key.</summary>
        public bool TryRead(ScalarValues v, string name, YamlNode value)
        {
            switch (name)
            {
                case "cert_file": Cert = Path(v, name, value); _certLine = value.Line; return true;
                case "key_file": Key = Path(v, name, value); _keyLine = value.Line; return true;
                case "ca_file": Ca = Path(v, name, value); _caLine = value.Line; return true;
                default: return false;
            }
        }

        /// <summary>Loads the files as the proxy will; an error at the key's line for each that cannot be used.</summary>
        public void Load(ErrorSink errors, string context)
        {
            // The private key is a secret file like a password file: rampart check warns when others may read it.
            if (KeyOrCert is { } key)
                errors.Secrets.Add(new SecretSource($"{context} key_file", Key is null ? _certLine : _keyLine, SecretOrigin.File, key));
            try
            {
                if (Cert is not null) TlsFiles.LoadCertificate(Cert, KeyOrCert!);
            }
            catch (TlsFileException e)
            {
                errors.Add(_certLine, $"{context}: {e.Message}");
            }
            try
            {
                if (Ca is not null) TlsFiles.LoadCa(Ca);
            }
            catch (TlsFileException e)
            {
                errors.Add(_caLine, $"{context}: {e.Message}");
            }
        }

        private static string? Path(ScalarValues v, string key, YamlNode value)
        {
            if (v.String(key, value) is not { } path) return null;
            var config = v.Errors.File;
            return System.IO.Path.IsPathRooted(path) || config is not { Length: > 0 } || !File.Exists(config)
                ? System.IO.Path.GetFullPath(path)
                : System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(config)) ?? "", path));
        }
    }
}
