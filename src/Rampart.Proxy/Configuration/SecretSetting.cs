namespace Rampart.Proxy.Configuration;

/// <summary>
/// One secret of a block, given inline (<c>password: ...</c>, <c>${VAR}</c> allowed) or from a file
/// (<c>password_file: /run/secrets/x</c>), never both. Feed it both keys as the block's reader meets them, then read
/// <see cref="Value"/>; <see cref="Finish"/> reports the pair. Never puts the value in a message.
/// </summary>
internal sealed class SecretSetting(string key, ScalarValues values)
{
    private int _inlineLine, _fileLine;

    public string Key => key;
    public string FileKey => key + "_file";

    /// <summary>The secret, or null when neither key is given or the one given is wrong (already reported).</summary>
    public string? Value { get; private set; }

    /// <summary>The line of whichever key was given, or 0.</summary>
    public int Line => _inlineLine != 0 ? _inlineLine : _fileLine;

    public bool IsGiven => _inlineLine != 0 || _fileLine != 0;

    public bool Handles(string name) => name == key || name == FileKey;

    public void Read(string name, YamlEntry entry)
    {
        var setting = $"{values.Context} {name}";
        if (name == key)
        {
            _inlineLine = entry.Key.Line;
            Value = values.String(name, entry.Value);
            if (Value is not null) values.Errors.Secrets.Add(new SecretSource(setting, _inlineLine,
                entry.Value is YamlScalar { Written: not null } ? SecretOrigin.Environment : SecretOrigin.ConfigFile));
        }
        else
        {
            _fileLine = entry.Key.Line;
            Value = values.String(name, entry.Value) is { } path ? SecretFileReader.Read(path, setting, entry.Key.Line, values.Errors) : null;
        }
    }

    /// <summary>Reports both keys given together: which one was meant is a guess Rampart does not make.</summary>
    public void Finish()
    {
        if (_inlineLine == 0 || _fileLine == 0) return;
        values.Errors.Add(Math.Max(_inlineLine, _fileLine), $"{values.Context}: {key} and {FileKey} are both given; use one");
        Value = null;
    }
}
