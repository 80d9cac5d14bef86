using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>Reads a twemproxy-style stats port as collectors do: connect, read to the end, parse.</summary>
public static class StatsReader
{
    public static string ReadRaw(int port)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, port);
        client.ReceiveTimeout = 10_000;
        using var stream = client.GetStream();
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return Encoding.UTF8.GetString(memory.ToArray());
    }

    public static JsonElement Read(int port)
    {
        using var document = JsonDocument.Parse(ReadRaw(port));
        return document.RootElement.Clone();
    }

    /// <summary>Every field name with its path ("pool/server/field"), pool and server names included.</summary>
    public static SortedSet<string> KeyPaths(JsonElement root)
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        Walk(root, "", paths);
        return paths;
    }

    private static void Walk(JsonElement element, string prefix, SortedSet<string> paths)
    {
        foreach (var property in element.EnumerateObject())
        {
            string path = prefix + property.Name;
            paths.Add(path + ":" + property.Value.ValueKind);
            if (property.Value.ValueKind == JsonValueKind.Object) Walk(property.Value, path + "/", paths);
        }
    }

    /// <summary>Field names of one object, in document order.</summary>
    public static List<string> FieldOrder(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToList();
}
