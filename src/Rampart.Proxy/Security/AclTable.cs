namespace Rampart.Proxy.Security;

/// <summary>
/// The users of <c>rampart: acl</c> and <c>acl_file</c>, in file order. Immutable: a reload parses a new table and the
/// pools swap to it whole (<see cref="PoolAcl"/>). The <c>default</c> user is here only when the configuration lists it.
/// </summary>
public sealed class AclTable
{
    private readonly Dictionary<string, AclUser> _byName;

    public AclTable(IReadOnlyList<AclUser> users)
    {
        Users = users;
        _byName = users.ToDictionary(u => u.Name, StringComparer.Ordinal);
        Text = string.Join("\n", users.Select(u => u.Description));
    }

    public IReadOnlyList<AclUser> Users { get; }

    /// <summary>Every user's description (hashes, never passwords): two tables are the same when their texts are.</summary>
    public string Text { get; }

    public AclUser? Find(string name) => _byName.GetValueOrDefault(name);
}
