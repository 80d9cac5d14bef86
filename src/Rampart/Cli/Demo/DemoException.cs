namespace Rampart.Cli.Demo;

/// <summary>Why <c>rampart demo</c> could not start, in words for the person who ran it.</summary>
internal sealed class DemoException(string message) : Exception(message);
