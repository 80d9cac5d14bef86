namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>The checkout the tests were built from (the directory holding Rampart.sln), for tests that read its files.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Rampart.sln"))) return dir.FullName;
        throw new InvalidOperationException("Rampart.sln not found above " + AppContext.BaseDirectory);
    }
}
