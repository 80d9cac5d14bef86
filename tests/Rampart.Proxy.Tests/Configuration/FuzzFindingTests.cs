namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// Inputs that scripts/fuzz (the config target) found, kept as regression tests: each was a finding, and each is also in
/// fuzz/corpus/config so that later fuzzing starts from it.
/// </summary>
public class FuzzFindingTests
{
    // YamlDotNet put a syntax error at the end of a file without a final line break on the line after the last one:
    // "file.yml:2" for a one-line file, a line no editor can jump to.
    [Theory]
    [InlineData("{")]
    [InlineData("[[")]
    [InlineData("[!")]
    [InlineData("[--")]
    [InlineData("{>")]
    [InlineData(" {o")]
    [InlineData("\t:")]
    [InlineData("\0:\0")]
    [InlineData("\0[:")]
    [InlineData("[\u0001")]
    [InlineData("[@OOOOO\0\0\0")]
    [InlineData("[::&a:~379>")]
    [InlineData("{falpinned_min_idlese&")]
    [InlineData("\u0010\u000b  address[s: [d0.0.0")]
    public void SyntaxErrorAtTheEndOfAOneLineFile_IsOnLineOne(string yaml)
    {
        var errors = ConfigAssert.Invalid(yaml);
        Assert.All(errors, e => Assert.Equal(1, e.Line));
    }

    [Theory]
    [InlineData("p:\n  servers: [", 2)]
    [InlineData("p:\r\n  servers: [", 2)]
    [InlineData("p:\r  servers: {", 2)]
    [InlineData("p:\n  servers: [\n", 3)] // with its final line break, the error is on the (empty) line after it, as before
    public void SyntaxErrorAtTheEndOfTheFile_IsOnItsLastLine(string yaml, int line) =>
        ConfigAssert.OneError(yaml, line, "YAML syntax error");

    // The same for a pool whose settings are the empty value of a last key without a line break: "must be a mapping"
    // was reported on the line after the file.
    [Theory]
    [InlineData("? ?{", 1)]
    [InlineData("?\0\u0004^", 1)]
    [InlineData("?\r\0\0\0 d\0", 2)]
    [InlineData("/\u001f{s:\n   -{      ::::::::::>:::::\u0015::.0.{{{{{{{{ keo@}s:\n?  -d1{ %{{{{{", 3)]
    public void EmptyValueAtTheEndOfTheFile_IsReportedOnItsLastLine(string yaml, int lastLine)
    {
        var errors = ConfigAssert.Invalid(yaml);
        Assert.Contains(errors, e => e.Line == lastLine);
        Assert.All(errors, e => Assert.InRange(e.Line, 1, lastLine));
    }
}
