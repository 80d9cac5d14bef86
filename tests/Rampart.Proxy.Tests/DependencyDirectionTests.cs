using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests;

/// <summary>
/// Dependencies inside the engine point one way (docs/architecture.md, "Dependencies"): a server connection completes
/// a request without knowing its client, key placement knows nothing of connections, and the protocol library knows
/// nothing of the proxy. Checked on the source: a folder's code (comments and strings left out) may not name a type
/// of a namespace it must not depend on, nor the namespace itself; the names come from the compiled engine, so a type
/// added later is covered too.
/// </summary>
public sealed partial class DependencyDirectionTests
{
    public static TheoryData<string, string[]> Rules => new()
    {
        // Backends completes requests through IReplyOwner/IReplyGatherer; it offers connections, clients choose.
        { "Backends", ["Rampart.Proxy.Clients", "Rampart.Proxy.Commands", "Rampart.Proxy.Pinning"] },
        // Routing maps keys to server indexes; the pool's snapshot (Pools/PoolRouting) binds them to servers.
        { "Routing", ["Rampart.Proxy.Backends", "Rampart.Proxy.Clients", "Rampart.Proxy.Pools"] },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Folder_NamesNoTypeOfTheNamespacesItMustNotUse(string folder, string[] forbiddenNamespaces)
    {
        var forbiddenTypes = EngineTypes()
            .Where(t => forbiddenNamespaces.Contains(t.Namespace) && !t.Name.Contains('<'))
            .Select(t => t.Name.Split('`')[0])
            .ToHashSet();
        Assert.True(forbiddenTypes.Count > 3, "the rule must name real types: " + string.Join(", ", forbiddenTypes));

        var found = new SortedSet<string>();
        var files = Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "src", "Rampart.Proxy", folder), "*.cs", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            string code = CodeOnly(File.ReadAllText(file));
            foreach (Match word in Identifier().Matches(code))
                if (forbiddenTypes.Contains(word.Value)) found.Add($"{Path.GetFileName(file)} names {word.Value}");
            foreach (var ns in forbiddenNamespaces)
            {
                // The namespace, whole or as the engine's own code shortens it ("Clients.ClientSession"), but not
                // another one ending the same way ("Rampart.Protocol.Commands").
                string shortName = ns["Rampart.Proxy.".Length..];
                if (code.Contains(ns, StringComparison.Ordinal) || Regex.IsMatch(code, $@"(?<![\w.]){shortName}\."))
                    found.Add($"{Path.GetFileName(file)} names {ns}");
            }
        }
        Assert.True(found.Count == 0, $"{folder} must not depend on {string.Join(", ", forbiddenNamespaces)}:\n" + string.Join("\n", found));
    }

    [Fact]
    public void ProtocolLibrary_ReferencesNothingOfTheProxy()
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Rampart.Protocol.dll"));
        using var pe = new PEReader(file);
        var metadata = pe.GetMetadataReader();
        var references = metadata.AssemblyReferences.Select(h => metadata.GetString(metadata.GetAssemblyReference(h).Name)).ToList();
        Assert.NotEmpty(references); // the runtime at least: the list is real
        Assert.DoesNotContain(references, name => name.StartsWith("Rampart", StringComparison.Ordinal));
    }

    [Fact]
    public void CodeOnly_LeavesOutCommentsAndStrings()
    {
        const string source = "var a = ClientSession.X; // ClientSession\n/* Pinning.PinnedSession */ var b = \"Clients.\";\n/// <see cref=\"PinnedSession\"/>\n";
        string code = CodeOnly(source);
        Assert.Contains("ClientSession.X", code);
        Assert.DoesNotContain("Pinning", code);
        Assert.DoesNotContain("Clients.", code);
        Assert.DoesNotContain("PinnedSession", code);
    }

    /// <summary>The engine's top-level types, read from the assembly's metadata (reflection would trip trimming analysis).</summary>
    private static List<(string Namespace, string Name)> EngineTypes()
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Rampart.Proxy.dll"));
        using var pe = new PEReader(file);
        var metadata = pe.GetMetadataReader();
        return metadata.TypeDefinitions.Select(metadata.GetTypeDefinition)
            .Where(t => t.GetDeclaringType().IsNil) // nested types are named through their outer type
            .Select(t => (metadata.GetString(t.Namespace), metadata.GetString(t.Name)))
            .ToList();
    }

    /// <summary>The source without comments, string and character literals (so a cref or a log text does not count).</summary>
    private static string CodeOnly(string source) => NonCode().Replace(source, " ");

    [GeneratedRegex("""//[^\n]*|/\*.*?\*/|@"(?:[^"]|"")*"|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'""", RegexOptions.Singleline)]
    private static partial Regex NonCode();

    [GeneratedRegex(@"\b[A-Za-z_][A-Za-z0-9_]*\b")]
    private static partial Regex Identifier();
}
