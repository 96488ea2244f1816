using Unisharp;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Unisharp.Hosting;
using Unisharp.Net;

var builder = Unikernel.CreateBuilder(args, "fetch").UseStack();
var url = builder.Argument(BootArgument.String("url", "", "The http:// or https:// URL to fetch (its host resolved with --dns or DHCP's server)."));
var ca = builder.Argument(BootArgument.String("ca", "", "A PEM file of the CA to trust for https:// instead of the system's (a test CA)."));
var attempts = builder.Argument(BootArgument.Int("attempts", 20, "Tries, a second apart, while the name does not resolve or the server does not answer.", min: 1));

return builder.Run(async ctx =>
{
    if (!Uri.TryCreate(ctx.Get(url), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
    {
        ctx.Log.Error("fetch", "give the URL to fetch: --url=http://HOST[:PORT]/PATH");
        return 2;
    }
    using var http = ctx.Get(ca) is { Length: > 0 } caFile
        ? ctx.CreateHttpClient(handler => handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            CustomTrustStore = { X509Certificate2.CreateFromPem(File.ReadAllText(caFile)) },
            RevocationMode = X509RevocationMode.NoCheck,
        })
        : ctx.CreateHttpClient();
    int tries = ctx.Get(attempts);
    for (int attempt = 1; ; attempt++)
    {
        try
        {
            var addresses = await ctx.Dns.ResolveAsync(uri.Host, ctx.Stopping);
            ctx.Log.Info("fetch", $"{uri.Host} is {string.Join(", ", addresses)}");
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ctx.Stopping);
            if (!response.IsSuccessStatusCode)
            {
                ctx.Log.Error("fetch", $"{uri}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                return 1;
            }
            await using var body = await response.Content.ReadAsStreamAsync(ctx.Stopping);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = await body.ReadAsync(buffer, ctx.Stopping)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                total += n;
            }
            ctx.Console.WriteLine($"fetched {uri}: {total} bytes, sha256 {Convert.ToHexStringLower(sha.GetHashAndReset())}");
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or NetworkException && attempt < tries && !ctx.Stopping.IsCancellationRequested)
        {
            ctx.Log.Info("fetch", $"attempt {attempt} of {tries}: {e.Message}; trying again in 1 s");
            await ctx.Clock.SleepAsync(Duration.FromSeconds(1), ctx.Stopping);
        }
        catch (Exception e) when (e is HttpRequestException or NetworkException)
        {
            ctx.Log.Error("fetch", $"{uri}: {e.Message}");
            return 1;
        }
    }
});
