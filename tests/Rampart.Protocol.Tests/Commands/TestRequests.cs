using System.Text;
using Rampart.Protocol.Commands;

namespace Rampart.Protocol.Tests.Commands;

public delegate T RequestFunc<T>(Request request);

/// <summary>Builds a <see cref="Request"/> from plain strings through the real reader, the way a session would.</summary>
public static class TestRequests
{
    public static byte[] Encode(params string[] args)
    {
        var sb = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static T With<T>(string[] args, RequestFunc<T> func)
    {
        var bytes = Encode(args);
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Complete, reader.TryRead(bytes, out _));
        return func(new Request(reader, bytes));
    }

    /// <summary>The resolved command's key indexes, or null when the enumerator reports the keys invalid.</summary>
    public static int[]? KeyIndexes(params string[] args) => With(args, r =>
    {
        var info = CommandTable.Resolve(r) ?? throw new InvalidOperationException($"unknown command {args[0]}");
        var keys = info.GetKeys(r);
        if (!keys.IsValid) return null;
        var list = new List<int>();
        foreach (int i in keys) list.Add(i);
        Assert.Equal(keys.Count, list.Count);
        return list.ToArray();
    });

    /// <summary>The key names, in enumeration order.</summary>
    public static string[]? KeyNames(params string[] args) => KeyIndexes(args)?.Select(i => args[i]).ToArray();

    /// <summary>Redis's error text the enumerator reports, or null when valid.</summary>
    public static string? KeyErrorMessage(params string[] args) =>
        With(args, r => CommandTable.Resolve(r)!.GetKeys(r).ErrorMessage);
}
