using System.Security.Cryptography;
using System.Text;
using Rampart.Protocol.Commands;

namespace Rampart.Proxy.Security;

/// <summary>
/// Reads Redis ACL rules ("user alice on >secret ~app:* &amp;news.* +@read -@dangerous"), applying each rule in order
/// as Redis's ACLSetUser does, so the same line gives the same permissions here and in <c>ACL SETUSER</c>. Anything
/// Rampart does not implement (selectors, first-argument rules) is refused with an error naming the rule, never
/// ignored. Pure: no I/O.
/// </summary>
public static class AclRuleParser
{
    private static readonly int Words = (CommandTable.Count + 63) / 64;

    /// <summary>Parses one "user NAME rules..." line; null with <paramref name="error"/> set when it is wrong.</summary>
    public static AclUser? ParseLine(string line, out string? error)
    {
        var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length < 2 || words[0] != "user")
        {
            error = "an ACL line must read 'user <name> [rules...]'";
            return null;
        }
        return Parse(words[1], words.AsSpan(2), out error);
    }

    /// <summary>A user named <paramref name="name"/> with <paramref name="rules"/> applied to Redis's new-user state.</summary>
    public static AclUser? Parse(string name, ReadOnlySpan<string> rules, out string? error)
    {
        var user = new Builder();
        foreach (var rule in rules)
        {
            if (user.Apply(rule) is { } problem)
            {
                error = $"user '{name}': rule '{rule}': {problem}";
                return null;
            }
        }
        error = null;
        return user.Build(name);
    }

    /// <summary>Redis's new user: off, no password, no commands, no keys, no channels (acl-pubsub-default resetchannels).</summary>
    private sealed class Builder
    {
        private bool _enabled;
        private bool _noPass;
        private readonly List<byte[]> _hashes = [];
        private readonly ulong[] _bits = new ulong[Words];
        private bool _allKeys;
        private readonly List<AclKeyPattern> _keys = [];
        private bool _allChannels;
        private readonly List<byte[]> _channels = [];
        private readonly List<string> _commandRules = [];
        private string _commandBase = "-@all";

        public string? Apply(string rule)
        {
            switch (rule.ToLowerInvariant())
            {
                case "on": _enabled = true; return null;
                case "off": _enabled = false; return null;
                case "nopass": _noPass = true; _hashes.Clear(); return null;
                case "resetpass": _noPass = false; _hashes.Clear(); return null;
                case "allkeys": return AddKey("*", KeyAccess.ReadWrite);
                case "resetkeys": _allKeys = false; _keys.Clear(); return null;
                case "allchannels": return AddChannel("*");
                case "resetchannels": _allChannels = false; _channels.Clear(); return null;
                case "allcommands": return Commands("+@all");
                case "nocommands": return Commands("-@all");
                case "reset":
                    _noPass = false; _hashes.Clear(); _allKeys = false; _keys.Clear();
                    _allChannels = false; _channels.Clear(); _enabled = false;
                    return Commands("-@all");
            }
            if (rule.Length == 0) return "empty rule";
            switch (rule[0])
            {
                case '>':
                    AddHash(SHA256.HashData(Encoding.UTF8.GetBytes(rule[1..])));
                    return null;
                case '<':
                    RemoveHash(SHA256.HashData(Encoding.UTF8.GetBytes(rule[1..])));
                    return null;
                case '#':
                    if (!TryHex(rule[1..], out var add)) return "a #hash must be 64 hex digits (a SHA-256)";
                    AddHash(add);
                    return null;
                case '!':
                    if (!TryHex(rule[1..], out var remove)) return "a !hash must be 64 hex digits (a SHA-256)";
                    RemoveHash(remove);
                    return null;
                case '~':
                    return AddKey(rule[1..], KeyAccess.ReadWrite);
                case '%':
                    return PercentKey(rule);
                case '&':
                    return AddChannel(rule[1..]);
                case '+' or '-':
                    return Commands(rule);
                case '(':
                    return "selectors are not supported by rampart (one set of permissions per user)";
            }
            return "unknown ACL rule (Redis's 'Syntax error')";
        }

        private void AddHash(byte[] hash)
        {
            _noPass = false;
            if (!_hashes.Exists(h => h.AsSpan().SequenceEqual(hash))) _hashes.Add(hash);
        }

        private void RemoveHash(byte[] hash) => _hashes.RemoveAll(h => h.AsSpan().SequenceEqual(hash));

        private static bool TryHex(string text, out byte[] hash)
        {
            hash = [];
            if (text.Length != 64 || !text.All(Uri.IsHexDigit)) return false;
            hash = Convert.FromHexString(text);
            return true;
        }

        private string? PercentKey(string rule)
        {
            var grants = KeyAccess.None;
            int i = 1;
            for (; i < rule.Length; i++)
            {
                char c = char.ToUpperInvariant(rule[i]);
                if (c == 'R' && (grants & KeyAccess.Read) == 0) grants |= KeyAccess.Read;
                else if (c == 'W' && (grants & KeyAccess.Write) == 0) grants |= KeyAccess.Write;
                else if (rule[i] == '~') { i++; break; }
                else return "expected %R~, %W~ or %RW~ before the key pattern";
            }
            // Redis accepts "%~x" and "%R" alike here (no access, or no '~'); both would grant something odd, so refuse.
            if (grants == KeyAccess.None || rule[i - 1] != '~') return "expected %R~, %W~ or %RW~ before the key pattern";
            return AddKey(rule[i..], grants);
        }

        private string? AddKey(string pattern, KeyAccess grants)
        {
            if (_allKeys)
                return "adding a pattern after the * pattern (or the 'allkeys' flag) has no effect; use 'resetkeys' first (Redis refuses it too)";
            if (pattern == "*" && grants == KeyAccess.ReadWrite)
            {
                _allKeys = true;
                _keys.Clear();
                return null;
            }
            _keys.Add(new AclKeyPattern(Encoding.UTF8.GetBytes(pattern), grants));
            return null;
        }

        private string? AddChannel(string pattern)
        {
            if (_allChannels)
                return "adding a pattern after the * pattern (or the 'allchannels' flag) has no effect; use 'resetchannels' first (Redis refuses it too)";
            if (pattern == "*")
            {
                _allChannels = true;
                _channels.Clear();
                return null;
            }
            _channels.Add(Encoding.UTF8.GetBytes(pattern));
            return null;
        }

        /// <summary>+cmd, -cmd, +cmd|sub, -cmd|sub, +@cat, -@cat (acl.c ACLSetSelector).</summary>
        private string? Commands(string rule)
        {
            bool allow = rule[0] == '+';
            string what = rule[1..].ToLowerInvariant();
            if (what.StartsWith('@'))
            {
                if (what == "@all")
                {
                    // Redis describes the user from here on as "+@all" or "-@all" followed by the later rules.
                    Array.Fill(_bits, allow ? ulong.MaxValue : 0UL);
                    _commandBase = allow ? "+@all" : "-@all";
                    _commandRules.Clear();
                    return null;
                }
                if (what.Contains(',') || !Configuration.CommandRuleMatch.TryParseCategory(what, out var category))
                    return "unknown command or category name in ACL";
                foreach (var command in CommandTable.All) SetForCategory(command, category, allow);
                _commandRules.Add(rule[0] + what);
                return null;
            }
            int bar = what.IndexOf('|');
            var top = CommandTable.Find(Encoding.ASCII.GetBytes((bar < 0 ? what : what[..bar]).ToUpperInvariant()));
            if (top is null) return "unknown command or category name in ACL";
            if (bar < 0)
            {
                Set(top, allow);
            }
            else
            {
                if (!top.IsContainer)
                    return "first-argument rules (+cmd|arg on a command without subcommands) are not supported by rampart";
                var sub = CommandTable.FindSubcommand(top, Encoding.ASCII.GetBytes(what[(bar + 1)..]));
                if (sub is null) return "unknown command or category name in ACL";
                Set(sub, allow);
            }
            _commandRules.Add(rule[0] + what);
            return null;
        }

        // ACLSetSelectorCommandBitsForCategory: every command and subcommand in the category; a container in it
        // brings all its subcommands (ACLChangeSelectorPerm), as Redis does.
        private void SetForCategory(CommandInfo command, AclCategories category, bool allow)
        {
            if ((command.Categories & category) != 0) Set(command, allow);
            foreach (var sub in command.Subcommands) SetForCategory(sub, category, allow);
        }

        private void Set(CommandInfo command, bool allow)
        {
            SetBit(command.Id, allow);
            foreach (var sub in command.Subcommands) SetBit(sub.Id, allow);
        }

        private void SetBit(int id, bool allow)
        {
            if (allow) _bits[id >> 6] |= 1UL << (id & 63);
            else _bits[id >> 6] &= ~(1UL << (id & 63));
        }

        public AclUser Build(string name)
        {
            var text = new StringBuilder("user ").Append(name).Append(_enabled ? " on" : " off");
            if (_noPass) text.Append(" nopass");
            var summary = new StringBuilder(text.ToString());
            if (_hashes.Count > 0) summary.Append(_hashes.Count == 1 ? " (1 password)" : $" ({_hashes.Count} passwords)");
            foreach (var hash in _hashes) text.Append(" #").Append(Convert.ToHexStringLower(hash));
            int rulesFrom = text.Length;
            if (_allKeys) text.Append(" ~*");
            foreach (var key in _keys)
                text.Append(key.Grants switch { KeyAccess.Read => " %R~", KeyAccess.Write => " %W~", _ => " ~" })
                    .Append(Encoding.UTF8.GetString(key.Pattern));
            text.Append(_allChannels ? " &*" : " resetchannels");
            foreach (var channel in _channels) text.Append(" &").Append(Encoding.UTF8.GetString(channel));
            text.Append(' ').Append(_commandBase);
            foreach (var rule in _commandRules) text.Append(' ').Append(rule);
            summary.Append(text, rulesFrom, text.Length - rulesFrom);
            return new AclUser(name, _enabled, _noPass, [.. _hashes], (ulong[])_bits.Clone(), _allKeys, [.. _keys],
                _allChannels, [.. _channels], text.ToString(), summary.ToString());
        }
    }
}
