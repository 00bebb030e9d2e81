// Runs the pickup drain inside `mailward serve` (docs/pickup-format.md): once at start, after the
// queue's recovery and before the delivery loop (hosted services start in order), then every
// Sendmail:PickupScanSeconds until the server stops.
using Mailward.Core.Queue;
using Mailward.Core.Sendmail;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Sendmail;

internal sealed partial class PickupService(PickupDrain drain, QueueStore queue, TimeSpan every, ILogger<PickupService> log) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        drain.RememberQueued(queue.Messages);
        await DrainOnceAsync(cancellationToken);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    private async Task LoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(every, _stop.Token);
                await DrainOnceAsync(_stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task DrainOnceAsync(CancellationToken ct)
    {
        try
        {
            await drain.DrainAsync(ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            DrainFailed(log, e.Message);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await _loop.WaitAsync(cancellationToken);
    }

    public void Dispose() => _stop.Dispose();

    [LoggerMessage(EventId = 1707, Level = LogLevel.Error, Message = "pickup: drain failed, tried again at the next scan: {Error}")]
    private static partial void DrainFailed(ILogger logger, string error);
}
