using Microsoft.AspNetCore.Http;

namespace Rampart.Admin;

/// <summary>
/// Who may do what on the admin server, checked before any endpoint runs. Invariant: <c>/healthz</c> and
/// <c>/readyz</c> are always open (load balancers and orchestrators probe them without credentials, and they say
/// nothing beyond up/ready); with a user configured every other path needs its credentials; a POST (the only
/// method that changes state) needs credentials always, so without a configured user none is accepted, and it is
/// refused when a browser says it comes from another site (a form on a page elsewhere, riding cached credentials).
/// </summary>
internal sealed class AdminAccess(BasicAuth? auth)
{
    public const string Health = "/healthz";
    public const string Readiness = "/readyz";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (request.Path.Equals(Health, StringComparison.Ordinal) || request.Path.Equals(Readiness, StringComparison.Ordinal))
        {
            await next(context);
            return;
        }
        if (auth is not null && !auth.IsAuthorized(request))
        {
            await BasicAuth.ChallengeAsync(context);
            return;
        }
        if (HttpMethods.IsPost(request.Method))
        {
            if (auth is null)
            {
                await RefuseAsync(context, "changing state through the admin API needs credentials: set rampart: admin: user and password (or password_file)");
                return;
            }
            if (IsCrossSite(request))
            {
                await RefuseAsync(context, "a POST from another site is refused (its Origin or Sec-Fetch-Site header says so)");
                return;
            }
        }
        await next(context);
    }

    /// <summary>405 with <c>Allow: POST</c>, for any other method on a state-changing path.</summary>
    public static Task PostOnly(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        context.Response.Headers.Allow = "POST";
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("405 Method Not Allowed: this endpoint changes state and accepts only POST\n");
    }

    private static bool IsCrossSite(HttpRequest request)
    {
        if (request.Headers["Sec-Fetch-Site"].ToString() is "cross-site" or "same-site") return true;
        string origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return false;
        return !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static Task RefuseAsync(HttpContext context, string reason)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync($"403 Forbidden: {reason}\n");
    }
}
