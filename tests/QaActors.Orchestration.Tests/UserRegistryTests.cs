using System.Net;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Users;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>The user registry on the in-memory test journal: its commands, recovery, supervision and first admin.</summary>
public class UserRegistryTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan T = TimeSpan.FromSeconds(10);
    private readonly ManualClock _clock = new();

    public UserRegistryTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output) { }

    private IActorRef Registry(string pid, int snapshotEvery = UserRegistryActor.SnapshotEvery) =>
        Sys.ActorOf(UserRegistryActor.Props(pid, snapshotEvery, _clock));

    private static async Task<ApiToken> Add(IActorRef registry, string name, bool admin = false, double weight = 1)
    {
        var r = await UserRegistryClient.AddUserAsync(registry, name, admin, weight, T);
        Assert.Null(r.Rejected);
        Assert.Equal(name, r.User!.Name);
        return r.Token!;
    }

    private static async Task<UserRequestRejected> Rejected(IActorRef registry, object command) =>
        Assert.IsType<UserRequestRejected>(await registry.Ask<object>(command, T));

    private static Task<object> Auth(IActorRef registry, ApiToken token) => registry.Ask<object>(new Authenticate(token.Hash), T);

    [Fact]
    public async Task Users_are_added_listed_authenticated_and_revoked()
    {
        var reg = Registry("users-flow");
        var admin = await Add(reg, "root", admin: true);
        var alice = await Add(reg, "alice", weight: 2);
        _clock.Advance(TimeSpan.FromMinutes(5));

        var list = (await reg.Ask<UserList>(ListUsers.Instance, T)).Users;
        Assert.Equal(new[] { "alice", "root" }, list.Select(u => u.Name));
        var a = list[0];
        Assert.False(a.Admin);
        Assert.Equal(2, a.Weight);
        Assert.Equal(alice.Id, a.TokenId);
        Assert.Equal(DateTimeOffset.Parse("2026-01-01T00:00:00Z"), a.Created);
        Assert.True(a.Active);
        Assert.True(list[1].Admin);

        Assert.Equal(new AuthenticatedUser("alice", false, 2), await Auth(reg, alice));
        Assert.Equal(new AuthenticatedUser("root", true, 1), await Auth(reg, admin));
        Assert.Equal(new AuthenticatedUser("alice", false, 2), await UserRegistryClient.AuthenticateAsync(reg, " " + alice.Reveal(), T));
        var unknown = Assert.IsType<AuthenticationFailed>(await Auth(reg, ApiToken.Generate()));
        Assert.Equal(AuthenticationFailure.Unknown, unknown.Reason);
        var malformed = Assert.IsType<AuthenticationFailed>(await UserRegistryClient.AuthenticateAsync(reg, "Basic abc", T));
        Assert.Equal(AuthenticationFailure.Malformed, malformed.Reason);
        Assert.Equal(AuthenticationFailure.Malformed, Assert.IsType<AuthenticationFailed>(await UserRegistryClient.AuthenticateAsync(reg, null, T)).Reason);

        var revoked = (await reg.Ask<UserRevokedReply>(new RevokeUser("alice"), T)).User;
        Assert.Equal(_clock.GetUtcNow(), revoked.Revoked);
        Assert.False(revoked.Active);
        var denied = Assert.IsType<AuthenticationFailed>(await Auth(reg, alice));
        Assert.Equal(AuthenticationFailure.Revoked, denied.Reason);
        Assert.Contains("alice", denied.Message);
        // Revoking again changes nothing.
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(revoked, (await reg.Ask<UserRevokedReply>(new RevokeUser("alice"), T)).User);
        Assert.Equal(UserRejection.NotFound, (await Rejected(reg, new RevokeUser("nobody"))).Reason);

        // A revoked name can be given a new token (rotation); the old one stays dead, and cannot be brought back.
        Assert.Equal(UserRejection.DuplicateToken, (await Rejected(reg, new AddUser("alice", false, 1, alice.Hash))).Reason);
        var alice2 = await Add(reg, "alice", weight: 3);
        Assert.Equal(new AuthenticatedUser("alice", false, 3), await Auth(reg, alice2));
        Assert.Equal(AuthenticationFailure.Unknown, Assert.IsType<AuthenticationFailed>(await Auth(reg, alice)).Reason);
        Assert.Null((await reg.Ask<UserList>(ListUsers.Instance, T)).Users[0].Revoked);
    }

    [Fact]
    public async Task Bad_input_is_refused_with_the_reason_and_changes_nothing()
    {
        var reg = Registry("users-input");
        await Add(reg, "alice");
        var exists = await Rejected(reg, new AddUser("alice", false, 1, ApiToken.Generate().Hash));
        Assert.Equal(UserRejection.AlreadyExists, exists.Reason);
        Assert.Contains("qa user revoke alice", exists.Message);
        // Checked by the registry itself, not only by the client helper.
        var name = await Rejected(reg, new AddUser("Bob", false, 1, ApiToken.Generate().Hash));
        Assert.Equal(UserRejection.InvalidName, name.Reason);
        Assert.Contains("starts with 'B'", name.Message);
        Assert.Equal(UserRejection.InvalidWeight, (await Rejected(reg, new AddUser("bob", false, 0, ApiToken.Generate().Hash))).Reason);
        Assert.Equal(UserRejection.InvalidWeight, (await Rejected(reg, new AddUser("bob", false, double.NaN, ApiToken.Generate().Hash))).Reason);
        Assert.Equal(UserRejection.InvalidName, (await Rejected(reg, new RevokeUser("../x"))).Reason);
        var client = await UserRegistryClient.AddUserAsync(reg, "-bob", false, 1, T);
        Assert.Equal(UserRejection.InvalidName, client.Rejected!.Reason);
        Assert.Null(client.Token);
        Assert.Equal(UserRejection.InvalidWeight, (await UserRegistryClient.AddUserAsync(reg, "bob", false, 1000, T)).Rejected!.Reason);
        Assert.Single((await reg.Ask<UserList>(ListUsers.Instance, T)).Users);
    }

    [Fact]
    public async Task The_first_admin_is_created_only_in_an_empty_registry_and_the_last_admin_cannot_be_revoked()
    {
        var reg = Registry("users-admin");
        var first = ApiToken.Generate();
        Assert.True((await reg.Ask<AdminEnsured>(new EnsureAdmin(first.Hash), T)).Created);
        Assert.False((await reg.Ask<AdminEnsured>(new EnsureAdmin(ApiToken.Generate().Hash), T)).Created);
        Assert.Equal(new AuthenticatedUser(UserRegistryActor.FirstAdminName, true, 1), await Auth(reg, first));

        var last = await Rejected(reg, new RevokeUser("admin"));
        Assert.Equal(UserRejection.LastAdmin, last.Reason);
        Assert.Contains("last active admin", last.Message);
        await Add(reg, "ops", admin: true);
        Assert.False((await reg.Ask<UserRevokedReply>(new RevokeUser("admin"), T)).User.Active);
        Assert.Equal(UserRejection.LastAdmin, (await Rejected(reg, new RevokeUser("ops"))).Reason);

        // Only revoked users left would still not be "empty": a registry that was set up never gets a second first admin.
        var other = Registry("users-admin-2");
        await Add(other, "bob");
        await other.Ask<UserRevokedReply>(new RevokeUser("bob"), T);
        Assert.False((await other.Ask<AdminEnsured>(new EnsureAdmin(ApiToken.Generate().Hash), T)).Created);
        Assert.Single((await other.Ask<UserList>(ListUsers.Instance, T)).Users);
    }

    [Fact]
    public async Task A_new_incarnation_recovers_every_user_from_events_and_snapshots()
    {
        var reg = Registry("users-recover", snapshotEvery: 3);
        var tokens = new Dictionary<string, ApiToken>();
        for (int i = 0; i < 8; i++) tokens["u" + i] = await Add(reg, "u" + i, admin: i == 0, weight: 1 + i);
        await reg.Ask<UserRevokedReply>(new RevokeUser("u3"), T);
        var before = (await reg.Ask<UserList>(ListUsers.Instance, T)).Users;
        Watch(reg);
        reg.Tell(StopSingleton.Instance);
        ExpectTerminated(reg, T);

        var again = Registry("users-recover", snapshotEvery: 3);
        Assert.Equal(before.ToArray(), (await again.Ask<UserList>(ListUsers.Instance, T)).Users.ToArray());
        foreach (var (name, token) in tokens)
        {
            var reply = await Auth(again, token);
            if (name == "u3") Assert.Equal(AuthenticationFailure.Revoked, Assert.IsType<AuthenticationFailed>(reply).Reason);
            else Assert.Equal(name, Assert.IsType<AuthenticatedUser>(reply).Name);
        }
    }

    private Akka.Persistence.TestKit.ITestJournal Journal() =>
        Akka.Persistence.TestKit.TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));

    [Fact]
    public async Task A_failed_journal_write_restarts_the_registry_and_loses_no_acknowledged_user()
    {
        var reg = Sys.ActorOf(UserRegistryActor.SupervisedProps("users-restart", clock: _clock));
        var alice = await Add(reg, "alice");

        await Journal().OnWrite.Fail();
        reg.Tell(new AddUser("bob", false, 1, ApiToken.Generate().Hash), TestActor);
        ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // not acknowledged: the write failed and the registry stopped
        await Journal().OnWrite.Pass();

        object? reply = null;
        await AwaitAssertAsync(async () => reply = await Auth(reg, alice), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        Assert.Equal(new AuthenticatedUser("alice", false, 1), reply);
        Assert.Equal(new[] { "alice" }, (await reg.Ask<UserList>(ListUsers.Instance, T)).Users.Select(u => u.Name));
        await Add(reg, "bob");
    }

    /// <summary>Stands in for a registry in the races <see cref="AdminTokenFile.EnsureFirstAdminAsync"/> must survive.</summary>
    private sealed class ScriptedRegistry : ReceiveActor
    {
        public ScriptedRegistry(bool created)
        {
            Receive<ListUsers>(_ => Sender.Tell(new UserList([])));
            Receive<EnsureAdmin>(_ => Sender.Tell(new AdminEnsured(created)));
        }
    }

    [Fact]
    public async Task The_first_admin_token_is_written_before_the_admin_exists_and_reused_after_a_crash()
    {
        using var dir = new TempDir();
        var reg = Registry("users-bootstrap");
        string? path = await AdminTokenFile.EnsureFirstAdminAsync(reg, dir.Path, T);
        Assert.Equal(AdminTokenFile.PathIn(dir.Path), path);
        var token = AdminTokenFile.TryRead(dir.Path)!;
        Assert.Equal(new AuthenticatedUser("admin", true, 1), await Auth(reg, token));
        // Every later start: nothing written, nothing changed.
        Assert.Null(await AdminTokenFile.EnsureFirstAdminAsync(reg, dir.Path, T));
        File.Delete(path!);
        Assert.Null(await AdminTokenFile.EnsureFirstAdminAsync(reg, dir.Path, T));
        Assert.False(File.Exists(path));

        // A crash after the file was written but before the admin was persisted: the next start uses that file's token.
        using var crashed = new TempDir();
        var left = ApiToken.Generate();
        AdminTokenFile.Write(crashed.Path, left);
        var fresh = Registry("users-bootstrap-2");
        Assert.Equal(AdminTokenFile.PathIn(crashed.Path), await AdminTokenFile.EnsureFirstAdminAsync(fresh, crashed.Path, T));
        Assert.Equal(new AuthenticatedUser("admin", true, 1), await Auth(fresh, left));

        // Another node created the first admin between the list and the request: the token just written is removed.
        using var raced = new TempDir();
        Assert.Null(await AdminTokenFile.EnsureFirstAdminAsync(Sys.ActorOf(Props.Create(() => new ScriptedRegistry(false))), raced.Path, T));
        Assert.False(File.Exists(AdminTokenFile.PathIn(raced.Path)));
        Assert.NotNull(await AdminTokenFile.EnsureFirstAdminAsync(Sys.ActorOf(Props.Create(() => new ScriptedRegistry(true))), raced.Path, T));
        Assert.True(File.Exists(AdminTokenFile.PathIn(raced.Path)));
    }

    [Fact]
    public async Task The_api_authenticator_counts_bad_tokens_per_client_and_never_blames_a_client_for_the_registry()
    {
        var reg = Registry("users-api-auth");
        var alice = await Add(reg, "alice", weight: 2);
        var bob = await Add(reg, "bob");
        await reg.Ask<UserRevokedReply>(new RevokeUser("bob"), T);
        var auth = new ApiAuthenticator(reg, new BadTokenLimiter(clock: _clock), T);
        var attacker = IPAddress.Parse("192.0.2.66");
        var user = IPAddress.Parse("2001:db8::5");

        var ok = await auth.AuthenticateAsync(alice.Reveal(), user);
        Assert.Equal(ApiAuthStatus.Authenticated, ok.Status);
        Assert.Equal(new AuthenticatedUser("alice", false, 2), ok.User);
        Assert.DoesNotContain(alice.Reveal()[3..], ok.LogMessage);

        // Malformed, unknown and revoked are all bad tokens, and the fifth blocks the client.
        string[] bad = ["qa_nope", ApiToken.Generate().Reveal(), bob.Reveal(), "", ApiToken.Generate().Reveal()];
        for (int i = 0; i < bad.Length; i++)
        {
            var r = await auth.AuthenticateAsync(bad[i], attacker);
            Assert.Equal(ApiAuthStatus.BadToken, r.Status);
            Assert.Null(r.User);
            if (bad[i].Length > 3) Assert.DoesNotContain(bad[i][3..], r.LogMessage);
            Assert.Equal(i == 4 ? TimeSpan.FromMinutes(1) : TimeSpan.Zero, r.RetryAfter);
        }
        // Blocked: even a valid token is refused unchecked, while other clients carry on.
        var limited = await auth.AuthenticateAsync(alice.Reveal(), attacker);
        Assert.Equal(ApiAuthStatus.RateLimited, limited.Status);
        Assert.Equal(TimeSpan.FromMinutes(1), limited.RetryAfter);
        Assert.Equal(ApiAuthStatus.Authenticated, (await auth.AuthenticateAsync(alice.Reveal(), user)).Status);
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ApiAuthStatus.Authenticated, (await auth.AuthenticateAsync(alice.Reveal(), attacker)).Status);

        // A registry that does not answer is the server's problem: 503, and no client is counted.
        var silent = new ApiAuthenticator(Sys.ActorOf(Props.Empty), new BadTokenLimiter(BadTokenPolicy.Default with { MaxFailures = 1 }, _clock), TimeSpan.FromMilliseconds(200));
        for (int i = 0; i < 3; i++) Assert.Equal(ApiAuthStatus.Unavailable, (await silent.AuthenticateAsync(alice.Reveal(), user)).Status);
        Assert.Equal(ApiAuthStatus.BadToken, (await silent.AuthenticateAsync("qa_x", user)).Status); // malformed: decided without the registry
    }

    [Fact]
    public async Task Registry_messages_round_trip_through_hyperion_with_the_production_configuration()
    {
        using var dir = new TempDir();
        var sys = ActorSystem.Create("users-hy", QaConfig.Load(dataDir: dir.Path).Akka);
        try
        {
            var hash = ApiToken.Generate().Hash;
            var at = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
            var info = new UserInfo("alice", true, 2.5, at, at.AddDays(1), hash.Id);
            object[] messages =
            [
                new AddUser("alice", true, 2.5, hash), new UserAdded(info), ListUsers.Instance, new UserList([info, info with { Revoked = null }]),
                new RevokeUser("alice"), new UserRevokedReply(info), new Authenticate(hash), new AuthenticatedUser("alice", false, 0.5),
                new AuthenticationFailed(AuthenticationFailure.Revoked, "why"), new EnsureAdmin(hash), new AdminEnsured(true),
                new UserRequestRejected(UserRejection.LastAdmin, "why"),
            ];
            // Every message type of the registry is here, so a new one cannot miss this check.
            var declared = typeof(UserRegistryActor).Assembly.GetTypes()
                .Where(t => t.Namespace == typeof(UserRegistryActor).Namespace && typeof(IQaMessage).IsAssignableFrom(t)).Select(t => t.Name).Order();
            Assert.Equal(declared, messages.Select(m => m.GetType().Name).Append(nameof(UserInfo)).Distinct().Order());
            foreach (var m in messages.Append(info))
            {
                var ser = sys.Serialization.FindSerializerFor(m);
                Assert.Equal("HyperionSerializer", ser.GetType().Name);
                var back = sys.Serialization.Deserialize(ser.ToBinary(m), ser.Identifier, m.GetType());
                if (m is UserList l) Assert.Equal(l.Users.ToArray(), ((UserList)back).Users.ToArray());
                else Assert.Equal(m, back);
            }
            var auth = (Authenticate)sys.Serialization.Deserialize(sys.Serialization.FindSerializerFor(new Authenticate(hash)).ToBinary(new Authenticate(hash)),
                sys.Serialization.FindSerializerFor(new Authenticate(hash)).Identifier, typeof(Authenticate));
            Assert.True(auth.TokenHash.Matches(hash));
        }
        finally { await sys.Terminate(); }
    }

    [Fact]
    public void Registry_records_round_trip_through_the_persisted_serializer_and_every_flipped_bit_is_caught()
    {
        var at = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var h1 = ApiToken.Generate().Hash;
        var h2 = ApiToken.Generate().Hash;
        IPersisted[] records =
        [
            new UserCreated("alice", true, 2.5, h1, at),
            new UserRevoked("alice", at.AddHours(1)),
            new UserRegistrySnapshot([new UserState("alice", true, 2.5, h1, at, at.AddHours(1)), new UserState("bob", false, 1, h2, at, null)]),
            new UserRegistrySnapshot([]),
        ];
        using var sys = ActorSystem.Create("users-ser", TestConfig.WithTestJournal());
        foreach (var e in records)
        {
            var ser = (SerializerWithStringManifest)sys.Serialization.FindSerializerFor(e);
            Assert.IsType<PersistedSerializer>(ser);
            string manifest = ser.Manifest(e);
            Assert.StartsWith("user-", manifest);
            Assert.EndsWith(".v2", manifest);
            byte[] good = ser.ToBinary(e);
            var back = ser.FromBinary(good, manifest);
            if (e is UserRegistrySnapshot s) Assert.Equal(s.Users.ToArray(), ((UserRegistrySnapshot)back).Users.ToArray());
            else Assert.Equal(e, back);
            for (int bit = 0; bit < good.Length * 8; bit++)
            {
                var bad = (byte[])good.Clone();
                bad[bit / 8] ^= (byte)(1 << (bit % 8));
                Assert.Equal(manifest, Assert.IsType<DamagedRecord>(ser.FromBinary(bad, manifest)).Manifest);
            }
            Assert.IsType<DamagedRecord>(ser.FromBinary(good[..^5], manifest));
        }
        // A user record has no version 1: one without its checksum is not read as one.
        Assert.Throws<SerializationException>(() => PersistedSerializer.Decode(PersistedSerializer.EncodeV1(records[0]), "user-created.v1"));
    }
}
