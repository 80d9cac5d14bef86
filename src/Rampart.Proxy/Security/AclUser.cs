using System.Security.Cryptography;
using System.Text;
using Rampart.Protocol.Commands;

namespace Rampart.Proxy.Security;

/// <summary>One key pattern of a user: <c>~p</c> (read and write), <c>%R~p</c>, <c>%W~p</c> or <c>%RW~p</c>.</summary>
public sealed record AclKeyPattern(byte[] Pattern, KeyAccess Grants);

/// <summary>
/// One ACL user, immutable once built by <see cref="AclRuleParser"/>: a config reload builds new users and swaps the
/// whole table. Passwords exist only as SHA-256 digests. The allowed commands are a bitset over
/// <see cref="CommandInfo.Id"/>, so a check reads one bit and allocates nothing.
/// </summary>
public sealed class AclUser
{
    internal AclUser(string name, bool enabled, bool noPass, byte[][] passwordHashes, ulong[] commandBits,
        bool allKeys, AclKeyPattern[] keys, bool allChannels, byte[][] channels, string description, string summary)
    {
        Name = name;
        NameBytes = Encoding.UTF8.GetBytes(name);
        Enabled = enabled;
        NoPass = noPass;
        _passwordHashes = passwordHashes;
        _commandBits = commandBits;
        AllKeys = allKeys;
        Keys = keys;
        AllChannels = allChannels;
        Channels = channels;
        Description = description;
        Summary = summary;
        AllowsAllCommands = Array.TrueForAll(CommandTable.All.ToArray(), c => AllowsCommandId(c.Id));
        AllowsEverything = AllowsAllCommands && allKeys && allChannels;
    }

    private readonly byte[][] _passwordHashes;
    private readonly ulong[] _commandBits;

    public string Name { get; }
    public byte[] NameBytes { get; }
    public bool Enabled { get; }
    public bool NoPass { get; }
    public int PasswordCount => _passwordHashes.Length;
    public bool AllKeys { get; }
    public IReadOnlyList<AclKeyPattern> Keys { get; }
    public bool AllChannels { get; }
    public IReadOnlyList<byte[]> Channels { get; }
    /// <summary>Every command, key and channel: the check is skipped (the cost of an ACL for such a user is one test).</summary>
    public bool AllowsEverything { get; }
    public bool AllowsAllCommands { get; }

    /// <summary>The rules as ACL LIST shows them: passwords as <c>#sha256</c>, never in clear.</summary>
    public string Description { get; }

    /// <summary>The same without the hashes ("(1 password)"), for <c>rampart check</c> and logs.</summary>
    public string Summary { get; }

    public bool AllowsCommandId(int id) => (_commandBits[id >> 6] & (1UL << (id & 63))) != 0;

    /// <summary>
    /// Redis's ACLCheckUserCredentials: an enabled user with nopass takes any password; otherwise the password's
    /// SHA-256 must equal one of the user's, compared in constant time against every digest.
    /// </summary>
    public bool Accepts(ReadOnlySpan<byte> password)
    {
        if (!Enabled) return false;
        if (NoPass) return true;
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(password, digest);
        bool found = false;
        foreach (var hash in _passwordHashes) found |= CryptographicOperations.FixedTimeEquals(digest, hash);
        return found;
    }

    public override string ToString() => Name;
}
