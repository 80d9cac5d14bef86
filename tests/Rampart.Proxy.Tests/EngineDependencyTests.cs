using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests;

/// <summary>
/// The engine (Rampart.Proxy, and what it references) stays free of ASP.NET Core and OpenTelemetry: those belong to
/// Rampart.Admin, which reads the engine through its public snapshot and counters, never the other way round
/// (docs/architecture.md, "Layout"). Checked twice: in what the compiled assembly references, and in what the
/// project files declare, since a FrameworkReference or package that no code uses yet leaves no trace in the assembly.
/// </summary>
public sealed class EngineDependencyTests
{
    private static readonly string[] Forbidden = ["Microsoft.AspNetCore", "OpenTelemetry"];

    [Fact]
    public void EngineAssembly_ReferencesNeitherAspNetCoreNorOpenTelemetry()
    {
        // Read from the file's metadata (its assembly reference table) rather than by reflection, which trimming analysis flags.
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, typeof(ProxyServer).Assembly.GetName().Name + ".dll"));
        using var pe = new PEReader(file);
        var metadata = pe.GetMetadataReader();
        var references = metadata.AssemblyReferences.Select(h => metadata.GetString(metadata.GetAssemblyReference(h).Name)).ToList();
        Assert.Contains("Rampart.Protocol", references); // the list is real, not empty
        Assert.DoesNotContain(references, IsForbidden);
    }

    [Fact]
    public void EngineProjects_DeclareNeitherAspNetCoreNorOpenTelemetry()
    {
        string engine = Path.Combine(RepositoryRoot.Path, "src", "Rampart.Proxy", "Rampart.Proxy.csproj");
        var projects = ProjectsReachedFrom(engine);
        Assert.Contains(projects, p => p.EndsWith("Rampart.Protocol.csproj", StringComparison.Ordinal));

        var declared = projects.SelectMany(project => XDocument.Load(project).Descendants()
            .Where(e => e.Name.LocalName is "FrameworkReference" or "PackageReference")
            .Select(e => $"{Path.GetFileName(project)}: {e.Name.LocalName} {e.Attribute("Include")?.Value}"));
        Assert.DoesNotContain(declared, IsForbidden);
    }

    private static bool IsForbidden(string name) => Forbidden.Any(f => name.Contains(f, StringComparison.OrdinalIgnoreCase));

    /// <summary>The project and every project it references, directly or not.</summary>
    private static List<string> ProjectsReachedFrom(string root)
    {
        var seen = new List<string>();
        var pending = new Stack<string>([Path.GetFullPath(root)]);
        while (pending.TryPop(out var project))
        {
            if (seen.Contains(project)) continue;
            seen.Add(project);
            foreach (var reference in XDocument.Load(project).Descendants().Where(e => e.Name.LocalName == "ProjectReference"))
            {
                string include = reference.Attribute("Include")!.Value.Replace('\\', Path.DirectorySeparatorChar);
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, include)));
            }
        }
        return seen;
    }
}
