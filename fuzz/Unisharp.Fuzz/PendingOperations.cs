using Unisharp.Net;

namespace Unisharp.Fuzz;

/// <summary>
/// The app's operations still running in the stateful target: each may fail as a network operation fails
/// (<see cref="NetworkException"/>), never with any other exception.
/// </summary>
internal sealed class PendingOperations
{
    private readonly List<Task> _tasks = [];

    public void Observe(ValueTask operation)
    {
        if (operation.IsCompleted)
        {
            Settle(operation.AsTask());
            return;
        }
        _tasks.Add(operation.AsTask());
    }

    public void Observe<T>(ValueTask<T> operation)
    {
        if (operation.IsCompleted)
        {
            Settle(operation.AsTask());
            return;
        }
        _tasks.Add(operation.AsTask());
    }

    public void Check()
    {
        for (int i = _tasks.Count - 1; i >= 0; i--)
        {
            if (_tasks[i].IsCompleted)
            {
                Settle(_tasks[i]);
                _tasks.RemoveAt(i);
            }
        }
    }

    private static void Settle(Task task)
    {
        if (task.IsFaulted && task.Exception!.InnerException is not NetworkException)
        {
            throw new FuzzInvariantException($"an app operation failed with {task.Exception.InnerException}");
        }
    }
}
