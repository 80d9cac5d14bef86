namespace ClusterBench;

/// <summary>Small helpers for the tables: medians and Markdown rows.</summary>
public static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static string Ms(TimeSpan? t) => t is { } v ? $"{v.TotalMilliseconds:F0} ms" : "-";

    public static string Row(params object?[] cells) => "| " + string.Join(" | ", cells.Select(c => c?.ToString() ?? "-")) + " |";

    public static string Header(params string[] names) => Row(names) + "\n" + Row(names.Select(_ => "---").ToArray());
}
