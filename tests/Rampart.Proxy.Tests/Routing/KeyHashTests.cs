using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Tests.Routing;

public sealed class KeyHashTests
{
    // Known answers from twemproxy's own hashkit C code compiled with gcc on x86-64 (crc16 as in nutcracker 0.5.0:
    // CCITT table, unmasked uint32 state; confirmed against the nutcracker binary by NutcrackerPlacementTests),
    // md5 from a standard MD5 (first 4 digest bytes, little-endian). Keys are hex.
    // Columns: key, md5, one_at_a_time, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins.
    private static readonly object[][] Vectors =
    [
        ["", 3649838548u, 0u, 0u, 0u, 0u, 2216829733u, 2216829733u, 2166136261u, 2166136261u, 0u, 0u, 3735928572u],
        ["61", 3111502092u, 3392050242u, 31879u, 26807u, 3904355907u, 2248259518u, 2248273036u, 84696446u, 3826002220u, 2472816263u, 1262581116u, 3768813200u],
        ["6162", 1140096536u, 1172708952u, 8156415u, 7811u, 2659403885u, 3035314104u, 3041237098u, 1886858552u, 1294271946u, 1535905475u, 3820310011u, 3249891675u],
        ["616263", 2555380112u, 3977453403u, 2088017366u, 13604u, 891568578u, 1806675403u, 88168267u, 1134309195u, 440920331u, 3843582778u, 2064434216u, 2403423744u],
        ["61626364", 1282538722u, 3448463878u, 1956489270u, 28034u, 3984772369u, 4219752341u, 3993445597u, 3118363509u, 3459545533u, 984896216u, 4016735919u, 3574732058u],
        ["6162636465", 3652474539u, 3112524284u, 2645049057u, 1415u, 2240272485u, 1641232970u, 1982031016u, 238010698u, 1956368136u, 2222483234u, 2586197722u, 1560228699u],
        ["666f6f", 3675831724u, 596015325u, 205303702u, 3187u, 2356372769u, 1805727027u, 4275688823u, 1083137555u, 2851307223u, 1993659431u, 3303027599u, 2583187353u],
        ["666f6f626172", 586569784u, 4182965735u, 2667556901u, 7926u, 2666930069u, 2765990338u, 4147734504u, 837857890u, 3214735720u, 128288300u, 2884435735u, 266177376u],
        ["68656c6c6f20776f726c64", 3141252702u, 1045060183u, 4060494820u, 3402u, 222957957u, 2979073647u, 37540583u, 1418570095u, 3582672807u, 1333368947u, 1578702139u, 355681275u],
        ["6b65793a31323334353637383930", 3498520197u, 101524514u, 3150403064u, 14131u, 3073624608u, 1857212543u, 2832916227u, 4210677183u, 421097283u, 2585549111u, 3665711418u, 1117193222u],
        ["303132333435363738396162", 3209825462u, 4130742054u, 2623992452u, 1571u, 103008562u, 2765080349u, 1135907153u, 425951837u, 759979345u, 2883753687u, 223225889u, 1830958931u],
        ["30313233343536373839616263", 1910059309u, 3404167024u, 1727141784u, 20072u, 3462966566u, 219108900u, 198359030u, 1420179460u, 2167846326u, 2599415290u, 3258953534u, 939081389u],
        ["54686520717569636b2062726f776e20666f78206a756d7073206f76657220746865206c617a7920646f67", 2642219166u, 1369346549u, 581169352u, 16719u, 1095738169u, 2112060110u, 3890508048u, 3922226286u, 76545936u, 471461527u, 818385189u, 314054204u],
        ["757365723a7b313030307d3a666f6c6c6f77657273", 244888637u, 3896919554u, 2869250641u, 30436u, 1994664708u, 494090460u, 3147245042u, 1662026844u, 3783848210u, 4263856188u, 2301186052u, 3263292807u],
        ["80", 2128427405u, 3273477671u, 37256u, 16314u, 1069182125u, 2046707807u, 2046684255u, 4210270879u, 83079839u, 3606367026u, 2421514821u, 2976898632u],
        ["fffefd", 3259918217u, 1196771768u, 504217887u, 2282u, 149598061u, 2481844359u, 2400096983u, 2437714183u, 3211609367u, 3649655134u, 3269769215u, 573299006u],
        ["6162e9", 2356330952u, 2087468527u, 2088021268u, 14409u, 944319484u, 2488291905u, 4206748569u, 3160658113u, 2981610777u, 307729637u, 1806632351u, 2301080244u],
        ["636166c3a9", 3833532679u, 3650908318u, 4129724007u, 6317u, 2561491637u, 2315714289u, 3472276361u, 3598905713u, 1970454601u, 3728705621u, 3658586143u, 3412207021u],
        ["000102030405060708090a", 2331674203u, 879644059u, 1982057803u, 11565u, 2905444065u, 2351314670u, 1572408040u, 234208526u, 1187282152u, 684447889u, 2444358685u, 2551870480u],
        ["707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f", 3616463000u, 475287202u, 753632290u, 29329u, 1922166910u, 657836581u, 1858476229u, 1264264901u, 3481331557u, 846083246u, 2834517378u, 1675022963u],
        ["ffffffffffffffffffffffffff", 519639262u, 576429581u, 4274247391u, 29398u, 4074173377u, 4189946236u, 4095891298u, 3973278204u, 670642946u, 305342277u, 132055028u, 2418435506u],
    ];

    private static readonly HashKind[] Columns =
    [
        HashKind.Md5, HashKind.OneAtATime, HashKind.Crc16, HashKind.Crc32, HashKind.Crc32a, HashKind.Fnv1_64,
        HashKind.Fnv1a_64, HashKind.Fnv1_32, HashKind.Fnv1a_32, HashKind.Hsieh, HashKind.Murmur, HashKind.Jenkins,
    ];

    public static IEnumerable<object[]> Cases =>
        from row in Vectors
        from column in Enumerable.Range(0, Columns.Length)
        select new object[] { Columns[column].ToConfigName(), (string)row[0], (uint)row[column + 1] };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_twemproxy(string hash, string keyHex, uint expected)
    {
        Assert.True(HashKinds.TryParse(hash, out var kind));
        Assert.Equal(expected, KeyHash.Compute(kind, Convert.FromHexString(keyHex)));
    }

    [Fact]
    public void Every_hash_kind_has_vectors() => Assert.Equal(Enum.GetValues<HashKind>().Length, Columns.Distinct().Count());

    [Fact]
    public void Signed_char_quirk_changes_fnv1a_64_for_high_bytes()
    {
        // 0x80 is read as (uint32_t)(char)0x80 = 0xFFFFFF80 by twemproxy, not 0x80.
        uint unsignedRead = unchecked((0x84222325u ^ 0x80u) * 0x1b3u);
        Assert.NotEqual(unsignedRead, KeyHash.Fnv1a_64([0x80]));
        Assert.Equal(unchecked((0x84222325u ^ 0xFFFFFF80u) * 0x1b3u), KeyHash.Fnv1a_64([0x80]));
    }

    [Fact]
    public void Names_parse_exactly_and_case_sensitively()
    {
        string[] names = ["one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins"];
        for (int i = 0; i < names.Length; i++)
        {
            Assert.True(HashKinds.TryParse(names[i], out var kind));
            Assert.Equal((HashKind)i, kind);
            Assert.Equal(names[i], kind.ToConfigName());
        }
        Assert.False(HashKinds.TryParse("FNV1A_64", out _));
        Assert.False(HashKinds.TryParse("fnv1a_64 ", out _));
        Assert.False(HashKinds.TryParse("crc32b", out _));
        Assert.False(HashKinds.TryParse(null, out _));
        Assert.True(DistributionKinds.TryParse("ketama", out var d) && d == DistributionKind.Ketama);
        Assert.True(DistributionKinds.TryParse("modula", out d) && d == DistributionKind.Modula);
        Assert.True(DistributionKinds.TryParse("random", out d) && d == DistributionKind.Random);
        Assert.False(DistributionKinds.TryParse("Ketama", out _));
        Assert.False(DistributionKinds.TryParse("vnode", out _));
    }

    [Fact]
    public void Hashing_does_not_allocate()
    {
        var key = "user:{1000}:followers:and-a-longer-tail"u8.ToArray();
        var kinds = Enum.GetValues<HashKind>();
        foreach (var kind in kinds) KeyHash.Compute(kind, key); // warm up
        uint sink = 0;
        // The fewest bytes over three runs, as the protocol's allocation tests take: a one-off of the runtime's on this
        // thread (tiered compilation) is not a per-hash allocation, which would show in every run.
        long fewest = long.MaxValue;
        for (int run = 0; run < 3; run++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
                foreach (var kind in kinds) sink += KeyHash.Compute(kind, key);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(fewest < 1024, $"{fewest} bytes allocated (sink {sink})");
    }
}
