using System.Net;
using System.Net.Sockets;

namespace QaActors.Node;

/// <summary>
/// The node's two listening ports, tried before anything starts: a port another process holds would otherwise surface
/// as Akka's or Kestrel's bind error with its stack, after the journal and the cluster had begun to start.
/// </summary>
internal static class PortCheck
{
    /// <summary>Port 0 (the system picks one) still checks that the host is an address of this machine.</summary>
    public static void EnsureFree(string host, int port, string what, string option)
    {
        IPAddress address;
        if (host is "localhost" or "") address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(host, out address!))
        {
            // A DNS name: the listener resolves it the same way; a name that does not resolve is the listener's error to report.
            try { address = Dns.GetHostAddresses(host).FirstOrDefault() ?? IPAddress.Loopback; }
            catch (SocketException) { return; }
        }
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new NodeStartException($"the {what} {host}:{port} ({option}) is in use by another process; choose another port (0 picks a free one)");
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AccessDenied)
        {
            throw new NodeStartException(e.SocketErrorCode == SocketError.AccessDenied
                ? $"the {what} {host}:{port} ({option}) needs privileges this user lacks; use a port above 1023"
                : $"the {what} host '{host}' ({option}) is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its addresses");
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>A bind failure that still reaches the start (another process took the port after the check), in one line.</summary>
    public static NodeStartException? AsStartError(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } or Microsoft.AspNetCore.Connections.AddressInUseException)
                return new NodeStartException($"a port of this node was taken while it started ({x.Message}); choose another --port or --api, or 0 for a free one");
        return null;
    }
}
