using System.Text;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// Whatever the text, loading gives a configuration or <c>file:line: reason</c> errors and never throws: YamlDotNet
/// throws more than YamlException on some broken files, which used to escape the loader (<c>rampart check</c> printed
/// a stack trace; a reload was not counted as failed and logged no line).
/// </summary>
public class MalformedFileTests
{
    [Theory]
    [InlineData("a:\n  servers: [127.0.0.1:6379:1,\n127.0.0.1:6380:1]\n", 2)]
    [InlineData("a:\n  sentinel: {addresses: [127.0.0.1:26379],\nquorum: 2}\n", 2)]
    public void FlowCollectionContinuedAtColumnZero_IsASyntaxErrorWithALine(string yaml, int line)
    {
        var error = Assert.Single(ConfigAssert.Invalid(yaml));
        Assert.Equal(line, error.Line);
        Assert.StartsWith("YAML syntax error here or just after (the YAML reader failed with InvalidOperationException", error.Message);
    }

    [Fact]
    public void RandomEditsOfTheCorpus_NeverThrow_AndEveryErrorHasAFileAndLine()
    {
        // Insertions, deletions and replacements of YAML punctuation in every corpus file, from a fixed seed. About 1
        // in 200 of these made YamlDotNet throw InvalidOperationException out of the loader.
        const string punctuation = "[]{}:-,?!&*|>'\"#%@`\t\n\r \\\u0085\u2028\ufeff\0";
        var files = CorpusTests.FileNames("valid").Concat(CorpusTests.FileNames("invalid"))
            .Select(f => File.ReadAllText(Path.Combine(CorpusTests.CorpusDir, f))).ToArray();
        var random = new Random(13);
        for (int i = 0; i < 20_000; i++)
        {
            var text = new StringBuilder(files[random.Next(files.Length)]);
            for (int edits = random.Next(1, 6); edits > 0; edits--)
            {
                int at = random.Next(text.Length);
                char c = punctuation[random.Next(punctuation.Length)];
                switch (random.Next(3))
                {
                    case 0: text.Insert(at, c); break;
                    case 1: text.Remove(at, 1); break;
                    default: text[at] = c; break;
                }
            }
            var result = ConfigLoader.LoadText(text.ToString(), "fuzz.yml");
            Assert.True(result.IsValid || result.Errors.Count > 0);
            Assert.All(result.Errors, e => Assert.True(e.File == "fuzz.yml" && e.Line >= 0, e.ToString()));
            Assert.DoesNotContain(result.Errors, e => e.Message.StartsWith("internal error", StringComparison.Ordinal));
        }
    }
}
