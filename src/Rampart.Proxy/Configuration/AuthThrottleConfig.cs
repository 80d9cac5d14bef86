namespace Rampart.Proxy.Configuration;

/// <summary>
/// <c>rampart: {auth_throttle: {delay, max_delay}}</c>: after a failed AUTH, the next AUTH from the same source address
/// waits <see cref="DelayMs"/>, doubling with each further consecutive failure up to <see cref="MaxDelayMs"/>; a
/// success forgets the address. <see cref="DelayMs"/> 0 turns throttling off.
/// </summary>
public sealed record AuthThrottleConfig
{
    public long DelayMs { get; init; } = 100;
    public long MaxDelayMs { get; init; } = 5_000;

    public bool Enabled => DelayMs > 0;

    public override string ToString() => Enabled ? $"{{delay: {DelayMs}ms, max_delay: {MaxDelayMs}ms}}" : "off";
}

/// <summary>Reads the <c>auth_throttle</c> block of <c>rampart:</c>.</summary>
internal static class AuthThrottleReader
{
    private static readonly string[] Keys = ["delay", "max_delay"];

    public static AuthThrottleConfig? Read(YamlNode node, ErrorSink errors)
    {
        const string context = "rampart auth_throttle";
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, $"{context} must be a mapping (delay, max_delay), such as {{delay: 100ms, max_delay: 5s}}");
            return null;
        }
        var v = new ScalarValues(errors, context);
        var config = new AuthThrottleConfig();
        int before = errors.Count;
        foreach (var (key, entry) in MappingKeys.Known(mapping, Keys, context, errors))
        {
            if (v.Milliseconds(key, entry.Value, key == "delay" ? "wait after the first failure; 0 = no throttling" : "longest wait") is not { } ms) continue;
            config = key == "delay" ? config with { DelayMs = ms } : config with { MaxDelayMs = ms };
        }
        if (config.Enabled && config.MaxDelayMs < config.DelayMs)
            errors.Add(mapping.Line, $"{context}: max_delay ({config.MaxDelayMs}ms) is less than delay ({config.DelayMs}ms)");
        return errors.Count == before ? config : null;
    }
}
