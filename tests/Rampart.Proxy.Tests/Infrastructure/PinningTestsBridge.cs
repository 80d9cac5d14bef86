namespace Rampart.Proxy.Tests.Integration;

/// <summary>
/// The old home of the raw-command encoder, which the Pinning tests still name
/// (<c>Integration.ConcurrencyTests.Resp</c>) while PinnedSession is being split there; it forwards to the one encoder,
/// <see cref="Infrastructure.RespText.Command"/>. Remove it once those tests call RespText.
/// </summary>
internal static class ConcurrencyTests
{
    internal static string Resp(params string[] args) => Infrastructure.RespText.Command(args);
}
