using System.Globalization;
using ScottPlot;

namespace Unisharp.Cli.Bench;

/// <summary>A bench's figure as a PNG (ScottPlot): one line per target or peer, like the seed's figures.</summary>
internal static class BenchPlot
{
    private const string FontName = "DejaVu Sans";
    private static readonly string[] s_fontFiles = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];
    private static int s_fontLoaded;

    /// <summary>One line: its name and its points (NaN values, from failed runs, are left out).</summary>
    public sealed record Series(string Name, double[] Xs, double[] Ys);

    /// <param name="xNames">Tick labels for x = 1, 2, ... (e.g. tool names) instead of the numbers.</param>
    public static void Save(string path, string title, string xLabel, string yLabel, bool logX, IReadOnlyList<Series> series, IReadOnlyList<string>? xNames = null)
    {
        string? font = LoadFont();
        var plot = new Plot();
        if (font is not null)
        {
            plot.Font.Set(font);
        }
        var allXs = new SortedSet<double>();
        double maxY = 0;
        foreach (var line in series)
        {
            var points = line.Xs.Zip(line.Ys).Where(p => !double.IsNaN(p.Second) && p.First > 0).ToArray();
            if (points.Length == 0)
            {
                continue;
            }
            double[] xs = points.Select(p => logX ? Math.Log10(p.First) : p.First).ToArray();
            double[] ys = points.Select(p => p.Second).ToArray();
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.LegendText = line.Name;
            scatter.LineWidth = 2;
            scatter.MarkerSize = 7;
            foreach (var (x, _) in points)
            {
                allXs.Add(x);
            }
            maxY = Math.Max(maxY, ys.Max());
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);

        // Ticks at the measured x values (clients, sectors): they are few and are what the reader looks for.
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (double x in allXs)
        {
            int index = (int)x - 1;
            string label = xNames is not null && index >= 0 && index < xNames.Count ? xNames[index] : x.ToString("0.##", CultureInfo.InvariantCulture);
            ticks.AddMajor(logX ? Math.Log10(x) : x, label);
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        if (allXs.Count > 0)
        {
            double lo = logX ? Math.Log10(allXs.Min) : allXs.Min;
            double hi = logX ? Math.Log10(allXs.Max) : allXs.Max;
            double pad = Math.Max((hi - lo) * 0.05, logX ? 0.1 : 0.5);
            plot.Axes.SetLimitsX(lo - pad, hi + pad);
        }
        plot.Axes.SetLimitsY(0, maxY > 0 ? maxY * 1.12 : 1);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 1000, 600);
    }

    private static string? LoadFont()
    {
        string? file = s_fontFiles.FirstOrDefault(File.Exists);
        if (file is null)
        {
            return null;
        }
        if (Interlocked.Exchange(ref s_fontLoaded, 1) == 0)
        {
            Fonts.AddFontFile(FontName, file);
        }
        return FontName;
    }
}
