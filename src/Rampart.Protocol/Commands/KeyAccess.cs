namespace Rampart.Protocol.Commands;

/// <summary>
/// What an ACL key pattern must grant for one key (acl.c ACLSelectorCheckKey): Read when the key spec has ACCESS,
/// Write when it has INSERT, DELETE or UPDATE. None means any pattern that matches the key will do (EXISTS, TYPE...).
/// </summary>
[Flags]
public enum KeyAccess : byte
{
    None = 0,
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}
