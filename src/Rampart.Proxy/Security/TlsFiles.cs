using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Proxy.Security;

/// <summary>
/// Reads the PEM files of a TLS setting: a certificate with its key (and any intermediates after the certificate), or
/// a bundle of CA certificates. Failures are <see cref="TlsFileException"/> with a reason fit for <c>rampart check</c>.
/// </summary>
internal static class TlsFiles
{
    /// <summary>The certificate of <paramref name="certFile"/> with the key of <paramref name="keyFile"/>, and its intermediates.</summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Intermediates) LoadCertificate(string certFile, string keyFile)
    {
        Readable(certFile, "cert_file");
        Readable(keyFile, "key_file");
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // "No PEM" and "the key is not this certificate's" (ArgumentException) come alike: tell them apart.
            throw new TlsFileException(HasCertificate(certFile)
                ? $"key_file {keyFile} is not a PEM private key of the certificate in {certFile} ({e.Message})"
                : $"cert_file {certFile} holds no PEM certificate ({e.Message})");
        }
        var all = LoadAll(certFile, "cert_file");
        var intermediates = new X509Certificate2Collection();
        foreach (var extra in all)
            if (extra.Thumbprint != certificate.Thumbprint) intermediates.Add(extra);
        return (certificate, intermediates);
    }

    /// <summary>Every certificate of a PEM bundle (at least one).</summary>
    public static X509Certificate2Collection LoadCa(string caFile) => LoadAll(caFile, "ca_file");

    private static X509Certificate2Collection LoadAll(string file, string key)
    {
        Readable(file, key);
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(file);
        }
        catch (CryptographicException e)
        {
            throw new TlsFileException($"{key} {file} is not a PEM certificate file ({e.Message})");
        }
        if (collection.Count == 0) throw new TlsFileException($"{key} {file} holds no PEM certificate");
        return collection;
    }

    private static bool HasCertificate(string file)
    {
        try
        {
            var collection = new X509Certificate2Collection();
            collection.ImportFromPemFile(file);
            return collection.Count > 0;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static void Readable(string file, string key)
    {
        try
        {
            using var stream = File.OpenRead(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TlsFileException($"{key} {file} cannot be read: {e.Message}");
        }
    }

    /// <summary>The last write time and length of each file: what the reload compares to notice a replaced file.</summary>
    public static (DateTime, long)[] Stamps(IEnumerable<string?> files) =>
        [.. files.Where(f => f is not null).Select(f =>
        {
            var info = new FileInfo(f!);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
        })];
}

/// <summary>A TLS file that cannot be used, with the reason.</summary>
internal sealed class TlsFileException(string message) : Exception(message);
