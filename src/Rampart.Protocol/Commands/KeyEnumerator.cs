using System.Runtime.CompilerServices;

namespace Rampart.Protocol.Commands;

/// <summary>
/// The argument indexes of a request's keys, found without allocating. Everything is validated when the enumerator
/// is created, so check <see cref="IsValid"/> (and <see cref="Error"/>) before routing; an invalid request yields
/// nothing. Keys come in Redis's COMMAND GETKEYS order: a leading single key, then a range, then up to two keyword
/// keys (for example ZUNIONSTORE's destination first; SORT's STORE key and GEORADIUS's STORE/STOREDIST keys last).
/// </summary>
public ref struct KeyEnumerator
{
    private readonly Request _request;
    private readonly int _lead;      // single key yielded first, or -1
    private readonly int _first;     // range start
    private readonly int _last;      // range end (inclusive); below _first when empty
    private readonly int _step;
    private readonly int _tail1;     // keyword keys yielded after the range, or -1
    private readonly int _tail2;
    private int _stage;              // 0 lead, 1 range, 2 tail1, 3 tail2, 4 done
    private int _next;

    public KeyEnumerator(CommandInfo command, Request request)
    {
        _request = request;
        Command = command;
        _lead = _tail1 = _tail2 = -1;
        _first = 1;
        _last = 0;
        _step = 1;
        _next = 0;
        _stage = 0;
        Error = KeyError.None;
        int argc = request.Count;
        if (!command.ArityAccepts(argc))
        {
            Error = KeyError.WrongArity;
            _stage = 4;
            return;
        }
        switch (command.Keys)
        {
            case KeySpecKind.Range:
                _first = command.FirstKey;
                _last = command.LastKey < 0 ? argc + command.LastKey : Math.Min(command.LastKey, argc - 1);
                _step = command.Step;
                break;
            case KeySpecKind.EvalNumKeys:
                Error = NumKeys(request, 2, allowZero: true, out _first, out _last);
                break;
            case KeySpecKind.NumKeysAt1:
                Error = NumKeys(request, 1, allowZero: false, out _first, out _last);
                break;
            case KeySpecKind.NumKeysAt2WithDestination:
                _lead = 1;
                Error = NumKeys(request, 2, allowZero: false, out _first, out _last);
                break;
            case KeySpecKind.BlockingNumKeys:
                Error = NumKeys(request, 2, allowZero: false, out _first, out _last);
                break;
            case KeySpecKind.Streams:
                Error = StreamKeys(request, command.KeywordSearchFrom, out _first, out _last);
                break;
            case KeySpecKind.SortStore:
                _lead = 1;
                _tail1 = SortStoreKey(request);
                break;
            case KeySpecKind.Migrate:
                Error = MigrateKeys(request, out _first, out _last);
                break;
            case KeySpecKind.GeoradiusStore:
                _lead = 1;
                _tail1 = KeyAfterKeyword(request, command.KeywordSearchFrom, "STORE"u8);
                _tail2 = KeyAfterKeyword(request, command.KeywordSearchFrom, "STOREDIST"u8);
                break;
        }
        if (Error != KeyError.None) _stage = 4;
        Count = Error != KeyError.None ? 0
            : (_lead >= 0 ? 1 : 0) + (_last >= _first ? (_last - _first) / _step + 1 : 0)
              + (_tail1 >= 0 ? 1 : 0) + (_tail2 >= 0 ? 1 : 0);
    }

    public CommandInfo Command { get; }

    /// <summary>Why the keys could not be found; <see cref="KeyError.None"/> when <see cref="IsValid"/>.</summary>
    public KeyError Error { get; }

    public bool IsValid => Error == KeyError.None;

    /// <summary>Redis's own error reply text for <see cref="Error"/> ("ERR ..."), or null when valid.</summary>
    public string? ErrorMessage => IsValid ? null : KeyErrorMessages.For(Command, Error);

    /// <summary>How many keys the enumeration yields.</summary>
    public int Count { get; }

    /// <summary>The argument index of the current key.</summary>
    public int Current { get; private set; }

    public readonly KeyEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        switch (_stage)
        {
            case 0:
                _stage = 1;
                _next = _first;
                if (_lead >= 0) { Current = _lead; return true; }
                goto case 1;
            case 1:
                if (_step > 0 && _next <= _last)
                {
                    Current = _next;
                    _next += _step;
                    return true;
                }
                _stage = 2;
                goto case 2;
            case 2:
                _stage = 3;
                if (_tail1 >= 0) { Current = _tail1; return true; }
                goto case 3;
            case 3:
                _stage = 4;
                if (_tail2 >= 0) { Current = _tail2; return true; }
                return false;
            default:
                return false;
        }
    }

    /// <summary>numkeys at <paramref name="at"/>, keys right after it. Redis parses numkeys strictly (string2ll).</summary>
    private static KeyError NumKeys(Request request, int at, bool allowZero, out int first, out int last)
    {
        first = at + 1;
        last = at;
        if (!RespNumber.TryParse(request[at], out long n)) return KeyError.NumKeysNotInteger;
        if (n < 0) return allowZero ? KeyError.NumKeysNegative : KeyError.NumKeysNotPositive;
        if (n == 0 && !allowZero) return KeyError.NumKeysNotPositive;
        if (n > request.Count - first) return KeyError.NumKeysTooBig;
        last = first + (int)n - 1;
        return KeyError.None;
    }

    /// <summary>
    /// XREAD/XREADGROUP: the first STREAMS at or after <paramref name="from"/> that is not the last argument (Redis's
    /// key spec and parser both need an argument after it); the keys are the first half of what follows.
    /// </summary>
    private static KeyError StreamKeys(Request request, int from, out int first, out int last)
    {
        first = 1;
        last = 0;
        int argc = request.Count;
        for (int i = from; i < argc - 1; i++)
        {
            if (!EqualsKeyword(request[i], "STREAMS"u8)) continue;
            int rest = argc - i - 1;
            if ((rest & 1) != 0) return KeyError.StreamsUnbalanced;
            first = i + 1;
            last = i + rest / 2;
            return KeyError.None;
        }
        return KeyError.StreamsMissing;
    }

    /// <summary>SORT's STORE key as its parser sees it: options LIMIT (2 args), BY and GET (1 arg); the last STORE wins.</summary>
    private static int SortStoreKey(Request request)
    {
        int store = -1;
        int argc = request.Count;
        for (int i = 2; i < argc; i++)
        {
            var arg = request[i];
            if (EqualsKeyword(arg, "LIMIT"u8)) i += 2;
            else if (EqualsKeyword(arg, "BY"u8) || EqualsKeyword(arg, "GET"u8)) i += 1;
            else if (EqualsKeyword(arg, "STORE"u8) && i + 1 < argc) store = ++i;
        }
        return store;
    }

    /// <summary>MIGRATE: key at 3, or with key "" every argument after KEYS (skipping AUTH's 1 and AUTH2's 2 arguments).</summary>
    private static KeyError MigrateKeys(Request request, out int first, out int last)
    {
        first = last = 3;
        int argc = request.Count;
        for (int i = 6; i < argc; i++)
        {
            var arg = request[i];
            if (EqualsKeyword(arg, "KEYS"u8))
            {
                if (request[3].Length != 0) return KeyError.MigrateKeyNotEmpty;
                first = i + 1;
                last = argc - 1;
                return KeyError.None;
            }
            if (EqualsKeyword(arg, "AUTH"u8)) i += 1;
            else if (EqualsKeyword(arg, "AUTH2"u8)) i += 2;
        }
        return KeyError.None;
    }

    /// <summary>The argument after the first <paramref name="keyword"/> at or after <paramref name="from"/>, as Redis's keyword key spec finds it.</summary>
    private static int KeyAfterKeyword(Request request, int from, ReadOnlySpan<byte> keyword)
    {
        for (int i = from; i < request.Count - 1; i++)
            if (EqualsKeyword(request[i], keyword)) return i + 1;
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool EqualsKeyword(ReadOnlySpan<byte> arg, ReadOnlySpan<byte> keyword) =>
        arg.Length == keyword.Length && System.Text.Ascii.EqualsIgnoreCase(arg, keyword);
}
