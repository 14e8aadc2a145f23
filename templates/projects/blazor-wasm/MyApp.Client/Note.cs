namespace MyApp.Client;

/// <summary>A note as the server's /api/notes returns it.</summary>
public record Note(long Id, string Text, string CreatedAt);
