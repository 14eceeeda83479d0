module vsots.local/pause

go 1.22
