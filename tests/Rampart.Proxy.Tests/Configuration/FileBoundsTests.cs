using System.Diagnostics;
using System.Text;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// Files no configuration looks like: nested 100,000 deep, larger than the size limit, a million nodes, bytes that are
/// not UTF-8. Each is refused with <c>file:line: reason</c>, quickly, and never ends the process (a deep file used to
/// overflow the stack of the recursive tree reader, which no catch can stop).
/// </summary>
public sealed class FileBoundsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-bounds-").FullName;

    /// <summary>The form, what goes on line 6, and the line of the 65th level.</summary>
    public static TheoryData<string, string, int> DeepForms() => new()
    {
        { "flow lists", "  hash_tag: " + ConfigText.Nested("[", "]", 100_000), 6 },
        { "flow mappings", "  hash_tag: " + ConfigText.Nested("{a: ", "}", 100_000), 6 },
        { "block lists", "  hash_tag:\n    " + ConfigText.Nested("- ", "", 100_000), 7 },
    };

    [Theory]
    [MemberData(nameof(DeepForms))]
    public void NestedAHundredThousandDeep_IsRefusedWithLineAndReason_InSeconds(string form, string line6, int line)
    {
        var clock = Stopwatch.StartNew();
        var errors = ConfigAssert.Invalid(ConfigText.PoolWithLine6(line6));
        clock.Stop();

        var error = Assert.Single(errors);
        Assert.Equal($"test.yml:{line}: lists and mappings are nested more than 64 levels deep; the limit is 64 (a configuration needs 3 or 4)",
            error.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{form}: took {clock.Elapsed}");
    }

    [Fact]
    public void NestingAtTheBound_IsRead_OneLevelMore_IsRefused()
    {
        // The top-level sequence is level 1, so 64 brackets are exactly the bound.
        var errors = new ErrorSink("t.yml");
        var node = YamlTreeReader.Read(ConfigText.Nested("[", "]", ConfigLimits.MaxDepth), errors);
        Assert.Equal(0, errors.Count);
        for (int level = 1; level <= ConfigLimits.MaxDepth; level++)
            node = Assert.Single(Assert.IsType<YamlSequence>(node).Items);
        Assert.Equal("x", Assert.IsType<YamlScalar>(node).Value);

        Assert.Null(YamlTreeReader.Read(ConfigText.Nested("[", "]", ConfigLimits.MaxDepth + 1), errors));
        Assert.Contains("nested more than 64 levels", Assert.Single(errors.ToSortedList()).Message);
    }

    [Fact]
    public void NestingJustUnderTheBound_InAPool_GetsTheOrdinaryError()
    {
        // The top-level mapping and the pool are 2 levels: 62 more reach the bound, 63 cross it.
        ConfigAssert.OneError(ConfigText.PoolWithLine6("  hash_tag: " + ConfigText.Nested("[", "]", 62)), 6,
            "pool 'a': hash_tag must be a single value, not a list or mapping");
        ConfigAssert.OneError(ConfigText.PoolWithLine6("  hash_tag: " + ConfigText.Nested("[", "]", 63)), 6, "nested more than 64 levels deep");
    }

    [Fact]
    public void TooManyNodes_IsRefusedOnTheLineOfTheFirstNodeOver()
    {
        // A top-level list of "- x" lines: the list is node 1, the item on line N is node N + 1.
        var yaml = new StringBuilder(4 * (ConfigLimits.MaxNodes + 10)).Insert(0, "- x\n", ConfigLimits.MaxNodes + 10).ToString();
        var clock = Stopwatch.StartNew();
        var error = ConfigAssert.OneError(yaml, ConfigLimits.MaxNodes, "more than 1000000 YAML nodes");
        Assert.Equal("the file has more than 1000000 YAML nodes (keys, values, lists and mappings); the limit is 1000000", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public void FileOverTheSizeLimit_IsRefusedBeforeReading_WithSizeAndLimit()
    {
        string path = Path.Combine(_dir, "big.yml");
        using (var file = File.Create(path)) file.SetLength(ConfigLimits.MaxFileBytes + 1L); // sparse: nothing written

        var error = Assert.Single(ConfigLoader.LoadFile(path).Errors);
        Assert.Equal($"{path}:0: the configuration file is 16777217 bytes; the limit is 16777216 bytes (16 MB)", error.ToString());
    }

    [Fact]
    public void FileAtTheSizeLimit_IsRead()
    {
        string path = Path.Combine(_dir, "padded.yml");
        var valid = ConfigText.PoolWithLine6("  hash_tag: \"{}\"");
        File.WriteAllText(path, valid + "#" + new string(' ', ConfigLimits.MaxFileBytes - valid.Length - 2) + "\n");
        Assert.Equal(ConfigLimits.MaxFileBytes, new FileInfo(path).Length);

        var result = ConfigLoader.LoadFile(path);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
    }

    [Fact]
    public void EndlessFileWithoutASize_IsRefusedAtTheLimit()
    {
        // /dev/zero has no length to check first: reading stops one byte past the limit.
        var error = Assert.Single(ConfigLoader.LoadFile("/dev/zero").Errors);
        Assert.Equal("/dev/zero:0: the configuration file is larger than the limit of 16777216 bytes (16 MB)", error.ToString());
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 }, 16)]       // a 2-byte lead followed by '('
    [InlineData(new byte[] { 0xFF }, 16)]             // never valid
    [InlineData(new byte[] { 0xE2, 0x82 }, 16)]       // a 3-byte character cut short
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, 16)] // a UTF-16 surrogate encoded as UTF-8
    public void InvalidUtf8_IsRefusedOnTheLineOfTheFirstBadByte(byte[] bad, int column)
    {
        string path = WriteBytes("bad.yml", "a:\n  listen: 127.0.0.1:7330\n  redis: true\n  redis_auth: p", bad, "x\n  servers:\n    - 127.0.0.1:7301:1 a1\n");

        var error = Assert.Single(ConfigLoader.LoadFile(path).Errors);
        Assert.StartsWith($"{path}:4: invalid UTF-8: byte 0x{bad[0]:X2} at column {column} ", error.ToString());
    }

    [Fact]
    public void ValidNonAsciiUtf8_IsRead_ExactlyAsWritten_WithOrWithoutBom()
    {
        const string password = "pässwörd-€-日本-😀";
        string yaml = ConfigText.PoolWithLine6("  redis_auth: " + password);
        string plain = WriteBytes("plain.yml", "", [], yaml);
        string bom = WriteBytes("bom.yml", "", [0xEF, 0xBB, 0xBF], yaml);

        foreach (var path in new[] { plain, bom })
        {
            var result = ConfigLoader.LoadFile(path);
            Assert.True(result.IsValid, string.Join("\n", result.Errors));
            Assert.Equal(password, Assert.Single(result.Config!.Pools).RedisAuth);
        }
    }

    [Theory]
    [InlineData("")]    // ArgumentException, which used to escape LoadFile
    [InlineData("dir")] // UnauthorizedAccessException
    public void UnreadablePath_IsAnErrorNotAnException(string path)
    {
        var error = Assert.Single(ConfigLoader.LoadFile(path == "dir" ? _dir : path).Errors);
        Assert.Equal(0, error.Line);
        Assert.Contains("cannot read the configuration file", error.Message);
    }

    private string WriteBytes(string name, string before, byte[] middle, string after)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes(before), .. middle, .. Encoding.UTF8.GetBytes(after)]);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>An acl_file is bounded as the configuration file is: a device that never ends is refused, not read whole.</summary>
    [Fact]
    public void AclFile_ThatNeverEnds_IsRefusedAtTheSizeLimit_AndOneNotUtf8_WithoutItsContent()
    {
        const string pool = "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n";
        var errors = ConfigAssert.Invalid("rampart:\n  acl_file: /dev/zero\n" + pool);
        Assert.Equal("test.yml:2: rampart acl_file: /dev/zero is larger than 16 MB", Assert.Single(errors).ToString());

        string latin1 = Path.Combine(_dir, "users.acl");
        File.WriteAllBytes(latin1, [.. "user ren\u00e9 on >caf"u8, 0xE9, (byte)'\n']);
        errors = ConfigAssert.Invalid($"rampart:\n  acl_file: {latin1}\n" + pool);
        Assert.Equal($"test.yml:2: rampart acl_file: {latin1} is not valid UTF-8 (its content is not shown)", Assert.Single(errors).ToString());
    }
}
