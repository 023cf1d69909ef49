using QaActors.Campaigns;
using QaActors.Learning;
using Xunit;

namespace QaActors.Campaigns.Tests;

public class CampaignProgressTests
{
    private static CampaignProgress Progress(string extra = "max-concurrent = 2\n max-retries = 1") => new("c-1", CampaignParser.Parse($$"""
        campaign {
          name = "p"
          datasets = [ { dataset = mnist, pairs = ["0,1"] } ]
          methods = [gibbs, qpu]
          seeds = [1, 2]
          {{extra}}
        }
        """, "p.conf"), "alice");

    [Fact]
    public void Submits_in_grid_order_within_max_concurrent_and_holds_qpu_cells_without_quota()
    {
        var p = Progress();
        Assert.Equal(["c-1-m-0-1-gibbs-s1", "c-1-m-0-1-gibbs-s2"], p.NextToSubmit(qpuAllowed: true));
        foreach (var id in p.NextToSubmit(true)) p.Submitted(id, 1);
        Assert.Empty(p.NextToSubmit(true));
        p.Completed(p["c-1-m-0-1-gibbs-s1"] with { WallSeconds = 2 });
        Assert.Equal(["c-1-m-0-1-qpu-s1"], p.NextToSubmit(true));
        Assert.Empty(p.NextToSubmit(qpuAllowed: false));
        Assert.Equal(CellStatus.Running, p.State);
    }

    [Fact]
    public void A_failure_is_retried_max_retries_times_then_kept_with_its_reason()
    {
        var p = Progress();
        string id = "c-1-m-0-1-gibbs-s1";
        p.Submitted(id, 1);
        Assert.Equal(FailureDecision.Retry, p.Decide(id));
        p.Failed(id, "node lost", final: false);
        Assert.Equal(CellStatus.Waiting, p[id].Status);
        p.Submitted(id, 2);
        Assert.Equal(FailureDecision.GiveUp, p.Decide(id)); // 1 + max-retries = 2 attempts
        p.Failed(id, "node lost again", final: true);
        Assert.Equal((CellStatus.Failed, "node lost again", 2), (p[id].Status, p[id].Reason, p[id].Attempts));
        Assert.DoesNotContain(id, p.NextToSubmit(true));
        p.RetryFailed();
        Assert.Equal((CellStatus.Waiting, 0), (p[id].Status, p[id].Attempts));
        Assert.Contains(id, p.NextToSubmit(true));
    }

    [Fact]
    public void Cancel_stops_submissions_and_the_campaign_finishes_when_every_cell_is_settled()
    {
        var p = Progress("max-concurrent = 4");
        foreach (var id in p.NextToSubmit(true)) p.Submitted(id, 1);
        p.Completed(p.Cells[0]);
        p.Cancel();
        Assert.Empty(p.NextToSubmit(true));
        Assert.True(p.Finished);
        Assert.Equal(CellStatus.Cancelled, p.State);
        Assert.Equal((1, 3), (p.Count(CellStatus.Completed), p.Count(CellStatus.Cancelled)));
        Assert.Throws<KeyNotFoundException>(() => p["nope"]);
    }
}
