using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Rampart.Admin;

/// <summary>
/// HTTP basic auth for the admin endpoints (all but /healthz and /readyz: see AdminAccess), as HAProxy's <c>stats auth user:password</c>: without valid credentials
/// the answer is 401 with a <c>WWW-Authenticate</c> challenge, so a browser asks for them. Compared in constant time.
/// </summary>
internal sealed class BasicAuth
{
    private readonly byte[] _expected;

    public BasicAuth(string user, string password) => _expected = Encoding.UTF8.GetBytes($"{user}:{password}");

    public bool IsAuthorized(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return false;
        byte[] given;
        try
        {
            given = Convert.FromBase64String(header["Basic ".Length..].Trim());
        }
        catch (FormatException)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(given, _expected);
    }

    public static Task ChallengeAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"Rampart\", charset=\"UTF-8\"";
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("401 Unauthorized: the Rampart admin API needs a user and password\n");
    }
}
