using Rampart.Protocol.Commands;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>A pool's rules compiled into per-command handling: categories, subcommands, deny over allow, the fixed exceptions.</summary>
public class CommandPolicyTests
{
    private static CommandInfo Command(string name)
    {
        int bar = name.IndexOf('|');
        var top = CommandTable.Find(System.Text.Encoding.ASCII.GetBytes(bar < 0 ? name : name[..bar]))!;
        return bar < 0 ? top : CommandTable.FindSubcommand(top, System.Text.Encoding.ASCII.GetBytes(name[(bar + 1)..]))!;
    }

    private static CommandPolicy Policy(string[] allow, string[]? deny = null) =>
        new(new CommandRules { Allow = allow, Deny = deny ?? [] }, "shop");

    [Fact]
    public void TheDefaultIsRampartsOwnHandling()
    {
        foreach (var name in new[] { "config|set", "shutdown", "get", "multi", "ping", "monitor" })
        {
            var command = Command(name);
            Assert.Equal(command.Handling, CommandPolicy.Default.HandlingOf(command));
        }
        Assert.Equal(Command("config|set").RefusalMessage, CommandPolicy.Default.RefusalOf(Command("config|set")));
    }

    [Fact]
    public void ACategoryLetsThroughEveryRefusedCommandInIt()
    {
        var policy = Policy(["@admin", "@dangerous"]);
        foreach (var name in new[] { "config|set", "config|resetstat", "acl|setuser", "save", "shutdown", "debug", "swapdb", "client|pause" })
            Assert.Equal(CommandHandling.Forward, policy.HandlingOf(Command(name)));
    }

    [Fact]
    public void WhatCannotWorkThroughAProxyStaysRefusedWhateverTheCategory()
    {
        var policy = Policy(["@all"]);
        foreach (var name in new[] { "sync", "psync", "readonly", "script|debug", "asking" })
        {
            Assert.Equal(CommandHandling.Unsupported, policy.HandlingOf(Command(name)));
            Assert.Equal(Command(name).RefusalMessage, policy.RefusalOf(Command(name)));
        }
        Assert.Equal(CommandHandling.Local, policy.HandlingOf(Command("ping")));
        Assert.Equal(CommandHandling.Pinned, policy.HandlingOf(Command("multi")));
        Assert.Equal(CommandHandling.Forward, policy.HandlingOf(Command("monitor"))); // on a connection of its own (PassThroughSession)
    }

    [Fact]
    public void AContainerNameCoversItsSubcommandsAndASubcommandOnlyItself()
    {
        var whole = Policy(["CONFIG"]);
        Assert.Equal(CommandHandling.Forward, whole.HandlingOf(Command("config|set")));
        Assert.Equal(CommandHandling.Forward, whole.HandlingOf(Command("config|rewrite")));
        var one = Policy(["config|resetstat"]);
        Assert.Equal(CommandHandling.Forward, one.HandlingOf(Command("config|resetstat")));
        Assert.Equal(CommandHandling.Unsupported, one.HandlingOf(Command("config|set")));
    }

    [Fact]
    public void DenyWinsOverAllowAndNamesTheRule()
    {
        var policy = Policy(["@admin", "CONFIG"], ["CONFIG|SET", "KEYS", "@scripting"]);
        var set = Command("config|set");
        Assert.Equal(CommandHandling.Unsupported, policy.HandlingOf(set));
        Assert.Equal("NOPERM rampart: pool 'shop' denies 'CONFIG SET' (commands: deny: CONFIG|SET)", policy.RefusalOf(set));
        Assert.Equal(CommandHandling.Forward, policy.HandlingOf(Command("config|get")));
        Assert.Equal("NOPERM rampart: pool 'shop' denies 'KEYS' (commands: deny: KEYS)", policy.RefusalOf(Command("keys")));
        Assert.Equal(CommandHandling.Unsupported, policy.HandlingOf(Command("evalsha")));
        Assert.False(policy.AllowedByRule(set));
    }

    [Fact]
    public void DenyCanRefuseWhatRampartAnswersOrPins()
    {
        var policy = Policy([], ["@pubsub", "CLIENT|KILL", "@connection"]);
        Assert.Equal(CommandHandling.Unsupported, policy.HandlingOf(Command("subscribe")));
        Assert.Equal(CommandHandling.Unsupported, policy.HandlingOf(Command("client|kill")));
        Assert.Equal(CommandHandling.Unsupported, policy.HandlingOf(Command("ping")));
        // A client must always be able to authenticate, choose its protocol and leave.
        foreach (var name in new[] { "auth", "hello", "quit", "reset" })
            Assert.Equal(CommandHandling.Local, policy.HandlingOf(Command(name)));
    }

    [Fact]
    public void AllowedByRuleMarksConsentForForwardedCommandsToo()
    {
        var policy = Policy(["FLUSHALL"]);
        Assert.True(policy.AllowedByRule(Command("flushall")));
        Assert.False(policy.AllowedByRule(Command("flushdb")));
        Assert.Equal(CommandHandling.Forward, policy.HandlingOf(Command("flushall")));
    }
}
