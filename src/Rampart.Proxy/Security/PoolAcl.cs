using System.Text;

namespace Rampart.Proxy.Security;

/// <summary>
/// The users one pool admits, built from the process's <see cref="AclTable"/>, the pool's <c>users:</c> list and its
/// <c>redis_auth</c>: when the table does not list <c>default</c>, the pool's default user is Redis's (on, every
/// command, key and channel) with <c>redis_auth</c> as its password, or nopass without one. Immutable; a reload
/// builds a new one and the pool swaps it in one write, so a session sees one whole version or the next.
/// </summary>
public sealed class PoolAcl
{
    private readonly AclUser[] _users;

    private PoolAcl(AclUser[] users, AclUser? defaultUser)
    {
        _users = users;
        Default = defaultUser;
    }

    /// <summary>The users this pool admits, in the table's order (the implicit default user first).</summary>
    public IReadOnlyList<AclUser> Users => _users;

    /// <summary>The pool's default user, or null when its <c>users:</c> list leaves it out (then every client must AUTH).</summary>
    public AclUser? Default { get; }

    /// <summary>True when a new connection starts authenticated as <see cref="Default"/> (on and nopass, as in Redis).</summary>
    public bool DefaultOpensWithoutAuth => Default is { Enabled: true, NoPass: true };

    public static PoolAcl For(AclTable table, string? redisAuth, IReadOnlyList<string>? admitted)
    {
        var users = new List<AclUser>();
        if (table.Find("default") is null) users.Add(ImplicitDefault(redisAuth));
        users.AddRange(table.Users);
        if (admitted is not null) users.RemoveAll(u => !admitted.Contains(u.Name));
        return new PoolAcl([.. users], users.Find(u => u.Name == "default"));
    }

    private static AclUser ImplicitDefault(string? redisAuth)
    {
        string password = redisAuth is null ? "nopass" : ">" + redisAuth;
        return AclRuleParser.Parse("default", ["on", password, "~*", "&*", "+@all"], out _)!;
    }

    /// <summary>The admitted user named <paramref name="name"/>, or null. Allocation-free for the table's sizes that matter.</summary>
    public AclUser? Find(ReadOnlySpan<byte> name)
    {
        foreach (var user in _users)
            if (name.SequenceEqual(user.NameBytes)) return user;
        return null;
    }

    public AclUser? Find(string name) => Find(Encoding.UTF8.GetBytes(name));

    /// <summary>ACL AUTH: the user if it exists here, is on, and takes the password; null otherwise (WRONGPASS).</summary>
    public AclUser? Authenticate(ReadOnlySpan<byte> name, ReadOnlySpan<byte> password) =>
        Find(name) is { } user && user.Accepts(password) ? user : null;
}
