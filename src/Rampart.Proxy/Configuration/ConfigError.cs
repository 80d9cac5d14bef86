namespace Rampart.Proxy.Configuration;

/// <summary>One problem in a configuration file, at the line of the offending key or value (1-based; 0 = whole file).</summary>
public sealed record ConfigError(string File, int Line, string Message)
{
    /// <summary>The <c>file:line: reason</c> form that editors and <c>rampart check</c> print.</summary>
    public override string ToString() => $"{File}:{Line}: {Message}";
}

/// <summary>What loading a file gave: the configuration when it is valid, otherwise every error found in one pass.</summary>
public sealed record ConfigLoadResult
{
    /// <summary>The validated configuration, or null when there is any error (a half-valid config is never used).</summary>
    public ProxyConfig? Config { get; init; }
    public IReadOnlyList<ConfigError> Errors { get; init; } = [];
    public bool IsValid => Config is not null && Errors.Count == 0;
}

/// <summary>Collects errors while the readers walk the file, so one run reports all of them instead of the first.</summary>
internal sealed class ErrorSink(string file)
{
    private readonly List<ConfigError> _errors = [];

    public string File { get; } = file;
    public int Count => _errors.Count;

    /// <summary>
    /// Every secret the readers met, inline or from a file, so <c>rampart check</c> can warn about readable files. The
    /// sink is the one thing every reader is handed; a secret's place is a fact of the file like an error's.
    /// </summary>
    public List<SecretSource> Secrets { get; } = [];

    public void Add(int line, string message) => _errors.Add(new ConfigError(File, line, message));

    /// <summary>Errors in file order; a stable sort keeps the discovery order of errors on the same line.</summary>
    public IReadOnlyList<ConfigError> ToSortedList() => _errors.OrderBy(e => e.Line).ToArray();
}
