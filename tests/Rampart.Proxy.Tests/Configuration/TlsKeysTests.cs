using System.Security.Authentication;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Reload;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// The <c>tls:</c>, <c>server_tls:</c> and <c>sentinel: {tls}</c> keys: read with every setting, and every file
/// problem refused with its line and reason (missing, unreadable, not PEM, a key of another certificate), as
/// <c>rampart check</c> prints them. Certificates are made by the test in a temp directory.
/// </summary>
public sealed class TlsKeysTests : IDisposable
{
    private readonly TestCertificates _pki = new();

    public void Dispose() => _pki.Dispose();

    /// <summary>A pool whose line 5 is <c>tls:</c> (its keys from line 6), then servers.</summary>
    private static string Pool(string tlsBody, string more = "") =>
        $"shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  servers: [127.0.0.1:6379:1]\n  tls:\n{tlsBody}{more}";

    private string Files(string indent = "    ") => $"{indent}cert_file: {_pki.ServerCert}\n{indent}key_file: {_pki.ServerKey}\n";

    [Fact]
    public void TlsBlock_IsReadWithEveryKey()
    {
        var pool = ConfigAssert.SinglePool(Pool($"    listen: 0.0.0.0:6390\n{Files()}    ca_file: {_pki.CaFile}\n    client_auth: required\n    min_version: \"1.3\"\n"));
        var tls = pool.Tls!;
        Assert.Equal("0.0.0.0:6390", tls.Listen.ToString());
        Assert.Equal((_pki.ServerCert, _pki.ServerKey, _pki.CaFile), (tls.CertFile, tls.KeyFile, tls.CaFile));
        Assert.Equal(ClientAuthMode.Required, tls.ClientAuth);
        Assert.Equal(SslProtocols.Tls13, tls.Protocols);
        Assert.Equal(5, tls.Line);
        Assert.Equal("127.0.0.1:6380", pool.Listen.ToString()); // the plain listener stays
    }

    [Fact]
    public void TlsBlock_Defaults_NoClientCertificateTls12AndUp()
    {
        var tls = ConfigAssert.SinglePool(Pool($"    listen: 127.0.0.1:6390\n{Files()}")).Tls!;
        Assert.Equal(ClientAuthMode.None, tls.ClientAuth);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, tls.Protocols);
        Assert.Null(tls.CaFile);
    }

    [Fact]
    public void MissingCertFile_IsRefusedWithItsLine() =>
        ConfigAssert.OneError(Pool($"    listen: 127.0.0.1:6390\n    cert_file: {_pki.Directory}/nope.crt\n    key_file: {_pki.ServerKey}\n"),
            7, "cannot be read");

    [Fact]
    public void KeyOfAnotherCertificate_IsRefused() =>
        ConfigAssert.OneError(Pool($"    listen: 127.0.0.1:6390\n    cert_file: {_pki.ServerCert}\n    key_file: {_pki.ClientKey}\n"),
            7, "is not a PEM private key of the certificate");

    [Fact]
    public void CertFileThatIsNotPem_IsRefused()
    {
        var junk = Path.Combine(_pki.Directory, "junk.crt");
        File.WriteAllText(junk, "not a certificate\n");
        ConfigAssert.OneError(Pool($"    listen: 127.0.0.1:6390\n    cert_file: {junk}\n    key_file: {_pki.ServerKey}\n"), 7, "holds no PEM certificate");
    }

    [Fact]
    public void UnknownClientAuth_IsRefusedWithTheChoices() =>
        ConfigAssert.OneError(Pool($"    listen: 127.0.0.1:6390\n{Files()}    ca_file: {_pki.CaFile}\n    client_auth: sometimes\n"),
            10, "expected one of: none, optional, required");

    [Fact]
    public void UnknownMinVersion_IsRefused() =>
        ConfigAssert.OneError(Pool($"    listen: 127.0.0.1:6390\n{Files()}    min_version: \"1.1\"\n"), 9, "expected one of: 1.2, 1.3");

    [Fact]
    public void ClientAuthWithoutCaFile_IsRefused() =>
        ConfigAssert.OneError(Pool($"    listen: 127.0.0.1:6390\n{Files()}    client_auth: required\n"), 9, "needs ca_file");

    [Fact]
    public void TlsListenMissing_OrSameAsPlainListen_IsRefused()
    {
        ConfigAssert.OneError(Pool(Files()), 5, "listen is missing");
        ConfigAssert.OneError(Pool($"    listen: 127.0.0.1:6380\n{Files()}"), 5, "needs its own address");
    }

    [Fact]
    public void UnknownTlsKey_IsRefusedWithSuggestion() =>
        ConfigAssert.OneError(Pool($"    listen: 127.0.0.1:6390\n{Files()}    cert_fil: x\n"), 9, "did you mean 'cert_file'");

    [Fact]
    public void PrivateKeys_AreSecretFiles_WhichCheckWarnsAboutWhenOthersCanReadThem()
    {
        var yaml = Pool($"    listen: 0.0.0.0:6390\n{Files()}", $"  server_tls:\n    cert_file: {_pki.ClientCert}\n    key_file: {_pki.ClientKey}\n");
        var secrets = ConfigAssert.Valid(yaml).Secrets;
        Assert.Equal([(8, _pki.ServerKey), (11, _pki.ClientKey)], secrets.Select(s => (s.Line, s.File!)));
        Assert.All(secrets, s => Assert.Equal(SecretOrigin.File, s.Origin));
        Assert.All(secrets, s => Assert.EndsWith("key_file", s.Setting));
    }

    [Fact]
    public void ServerTls_IsReadAndCheckedLikeTheListenersFiles()
    {
        var yaml = $"shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  servers: [127.0.0.1:6379:1]\n  server_tls:\n"
                   + $"    ca_file: {_pki.CaFile}\n    cert_file: {_pki.ClientCert}\n    key_file: {_pki.ClientKey}\n    server_name: redis.internal\n";
        var serverTls = ConfigAssert.SinglePool(yaml).ServerTls!;
        Assert.Equal((_pki.CaFile, _pki.ClientCert, _pki.ClientKey, "redis.internal"), (serverTls.CaFile, serverTls.CertFile, serverTls.KeyFile, serverTls.ServerName));
        ConfigAssert.OneError(yaml.Replace(_pki.ClientKey, _pki.ServerKey), 7, "is not a PEM private key");
        ConfigAssert.OneError(yaml.Replace(_pki.CaFile, _pki.Directory + "/missing-ca.crt"), 6, "cannot be read");
        Assert.NotNull(ConfigAssert.SinglePool("shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  servers: [127.0.0.1:6379:1]\n  server_tls: true\n").ServerTls);
    }

    [Fact]
    public void SentinelTls_IsABool()
    {
        var yaml = "ha:\n  listen: 127.0.0.1:6380\n  redis: true\n  sentinel:\n    addresses: [127.0.0.1:26379]\n    tls: true\n  servers: [mymaster]\n";
        Assert.True(ConfigAssert.SinglePool(yaml).Sentinel!.Tls);
        ConfigAssert.OneError(yaml.Replace("tls: true", "tls: yes"), 6, "must be true or false");
    }

    [Fact]
    public void RelativePaths_AreTakenFromTheConfigFilesDirectory()
    {
        var config = Path.Combine(_pki.Directory, "rampart.yml");
        File.WriteAllText(config, Pool("    listen: 127.0.0.1:6390\n    cert_file: server.crt\n    key_file: server.key\n"));
        var result = ConfigLoader.LoadFile(config);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(_pki.ServerCert, result.Config!.Pools[0].Tls!.CertFile);
    }

    [Fact]
    public void ReloadDiff_NamesTlsChanges()
    {
        var before = ConfigAssert.SinglePool(Pool($"    listen: 127.0.0.1:6390\n{Files()}"));
        var after = ConfigAssert.SinglePool(Pool($"    listen: 127.0.0.1:6391\n{Files()}", "  server_tls: true\n"));
        var changes = ConfigDiff.PoolChanges(before, after);
        Assert.Contains("tls block changed", changes);
        Assert.Contains("server_tls changed", changes);
        Assert.Empty(ConfigDiff.PoolChanges(before, before with { Tls = before.Tls! with { Line = 99 } }));
    }
}
