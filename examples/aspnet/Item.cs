namespace AspNetExample;

/// <summary>One entry of /api/items.</summary>
internal sealed record Item(int Id, string Name, decimal Price);
