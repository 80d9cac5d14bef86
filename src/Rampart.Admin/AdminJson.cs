using System.Text.Json.Serialization;
using Rampart.Proxy.Observability;

namespace Rampart.Admin;

/// <summary>/readyz's body: ready or not, and why not.</summary>
internal sealed record ReadyReply(bool Ready, IReadOnlyList<string> Reasons);

/// <summary>/healthz's body.</summary>
internal sealed record HealthReply(string Status, long UptimeSeconds, string Version);

/// <summary>/loglevel: the default level, the per-category overrides, and the per-request sampling (0: off).</summary>
internal sealed record LogLevelsReply(string Default, IReadOnlyDictionary<string, string> Categories, int RequestSampleEvery);

/// <summary>What PUT /loglevel/{category} accepts: a level name, and for Rampart.Requests how many requests per log line.</summary>
internal sealed record LogLevelRequest(string Level, int? SampleEvery = null);

/// <summary>/events: the topology events kept (oldest first) and how many there have been in all.</summary>
internal sealed record EventsReply(long Total, IReadOnlyList<TopologyEvent> Events);

/// <summary>An error reply of the admin API.</summary>
internal sealed record ErrorReply(string Error);

/// <summary>Source-generated JSON (no reflection: Native AOT and trimming safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(ReadyReply))]
[JsonSerializable(typeof(HealthReply))]
[JsonSerializable(typeof(LogLevelsReply))]
[JsonSerializable(typeof(LogLevelRequest))]
[JsonSerializable(typeof(EventsReply))]
[JsonSerializable(typeof(ErrorReply))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
