using System.Text.RegularExpressions;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// Every file of corpus/valid loads with no error; every file of corpus/invalid fails, with an error on each line
/// named by a "# expect-line: N" comment in the file and on no other line (so a file fails for the reason it is about).
/// </summary>
public partial class CorpusTests
{
    internal static string CorpusDir => Path.Combine(AppContext.BaseDirectory, "Configuration", "corpus");

    public static TheoryData<string> ValidFiles() => Files("valid");
    public static TheoryData<string> InvalidFiles() => Files("invalid");

    private static TheoryData<string> Files(string kind) => new(FileNames(kind));

    /// <summary>"valid/x.yml", "invalid/y.yml": paths relative to the corpus directory, in a stable order.</summary>
    internal static string[] FileNames(string kind) =>
        Directory.GetFiles(Path.Combine(CorpusDir, kind), "*.yml")
            .Select(f => $"{kind}/{Path.GetFileName(f)}")
            .Order(StringComparer.Ordinal)
            .ToArray();

    [Fact]
    public void CorpusIsCopiedToTheOutput()
    {
        Assert.True(FileNames("valid").Length >= 10);
        Assert.True(FileNames("invalid").Length >= 20);
    }

    [Theory]
    [MemberData(nameof(ValidFiles))]
    public void ValidFileLoads(string file)
    {
        var result = ConfigLoader.LoadFile(Path.Combine(CorpusDir, file));
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.NotEmpty(result.Config!.Pools);
    }

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void InvalidFileFailsOnTheExpectedLines(string file)
    {
        var path = Path.Combine(CorpusDir, file);
        var expected = ExpectLine().Matches(File.ReadAllText(path)).Select(m => int.Parse(m.Groups[1].Value)).ToArray();
        Assert.True(expected.Length > 0, $"{file} has no '# expect-line: N' comment");

        var result = ConfigLoader.LoadFile(path);
        Assert.False(result.IsValid);
        var report = string.Join("\n", result.Errors);
        foreach (var line in expected)
            Assert.True(result.Errors.Any(e => e.Line == line), $"{file}: expected an error on line {line}, got:\n{report}");
        foreach (var error in result.Errors)
            Assert.True(expected.Contains(error.Line), $"{file}: unexpected error on line {error.Line} (no '# expect-line: {error.Line}'):\n{report}");
        Assert.All(result.Errors, e => Assert.Equal(path, e.File));
    }

    [GeneratedRegex(@"^#\s*expect-line:\s*(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ExpectLine();
}
