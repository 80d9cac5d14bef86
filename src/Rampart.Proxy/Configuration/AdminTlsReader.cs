using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// <c>rampart: admin: cert_file</c> and <c>key_file</c> (PEM): both or neither, and they must load as a certificate
/// with its private key now, so <c>rampart check</c> reports a wrong path or a key that does not match the certificate
/// at its line instead of the admin server failing at start.
/// </summary>
internal sealed class AdminTlsReader(ScalarValues values)
{
    private string? _cert, _key;
    private int _certLine, _keyLine;

    public void Read(string key, YamlEntry entry)
    {
        var path = values.String(key, entry.Value) is { } p ? ConfigPaths.Resolve(p, values.Errors.File) : null;
        if (key == "cert_file") (_cert, _certLine) = (path, entry.Key.Line);
        else (_key, _keyLine) = (path, entry.Key.Line);
    }

    public AdminTlsFiles? Finish()
    {
        if (_certLine == 0 && _keyLine == 0) return null;
        if (_certLine == 0 || _keyLine == 0)
        {
            values.Errors.Add(_certLine + _keyLine, "rampart admin: cert_file and key_file must be given together (PEM files)");
            return null;
        }
        if (_cert is null || _key is null) return null; // reported by ScalarValues
        values.Errors.Secrets.Add(new SecretSource("rampart admin key_file", _keyLine, SecretOrigin.File, _key));
        try
        {
            using var certificate = X509Certificate2.CreateFromPemFile(_cert, _key);
            if (!certificate.HasPrivateKey)
                values.Errors.Add(_keyLine, $"rampart admin: key_file {_key} holds no private key for cert_file {_cert}");
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            values.Errors.Add(_certLine, $"rampart admin: cert_file {_cert} and key_file {_key} do not load as a PEM certificate and its key: {e.Message}");
            return null;
        }
        return new AdminTlsFiles(_cert, _key);
    }
}
