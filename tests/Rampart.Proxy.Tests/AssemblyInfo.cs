// The integration tests start redis-server, sentinels and nutcracker and use unix sockets and signals: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
