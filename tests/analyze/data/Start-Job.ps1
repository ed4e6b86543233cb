param([string] $Name = 'default')

Write-Host "Starting $Name"
