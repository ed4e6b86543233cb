Set-StrictMode -Version Latest

$script:DefaultRoot = Join-Path $HOME 'backups'

function Invoke-Backup {
    <#
    .SYNOPSIS
        Copies files into a dated backup folder.
    .PARAMETER Path
        The files to copy.
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'ByPath')]
    [OutputType([System.IO.FileInfo])]
    [OutputType('System.String', ParameterSetName = 'ByName')]
    param(
        [Parameter(Mandatory, ValueFromPipeline, Position = 0, ParameterSetName = 'ByPath')]
        [Alias('FullName', 'PSPath')]
        [ValidateNotNullOrEmpty()]
        [string[]] $Path,

        [Parameter(Mandatory = $true, ParameterSetName = 'ByName')]
        [ValidateSet('Daily', 'Weekly')]
        [string] $Schedule,

        [Parameter(Mandatory=$false, ValueFromPipelineByPropertyName=$true)]
        [int] $Keep = 7,

        [switch] $Force
    )

    begin {
        function Get-Stamp {
            param([datetime] $At = (Get-Date))
            return $At.ToString('yyyyMMdd')
        }
        $target = Join-Path $script:DefaultRoot (Get-Stamp)
    }
    process {
        foreach ($item in $Path) {
            if (-not (Test-Path -LiteralPath $item)) {
                throw [System.IO.FileNotFoundException]::new("No such file: $item")
            }
            if ($PSCmdlet.ShouldProcess($item, 'Back up')) {
                Copy-Item -LiteralPath $item -Destination $target -Force:$Force -PassThru
            }
        }
    }
    end {
        Write-Verbose "Backed up to $target"
    }
}

<#
.SYNOPSIS
    Removes old backups.
#>
function Remove-OldBackup
{
    param(
        [Parameter(ValueFromPipeline)]
        [System.IO.DirectoryInfo] $Folder,
        [int] $Keep = 7
    )

    process {
        Get-ChildItem $Folder | Sort-Object LastWriteTime -Descending |
            Select-Object -Skip $Keep | Remove-Item -Recurse
    }
}

function Test-BackupFolder([string] $Path, [int] $MinimumFiles = 1) {
    if (-not (Test-Path $Path)) {
        throw "Backup folder $Path is missing"
    }
    (Get-ChildItem $Path).Count -ge $MinimumFiles

    # .SYNOPSIS
    # Tests whether a backup folder holds enough files.
    # .PARAMETER Path
    # The folder.
}

filter ConvertTo-BackupName {
    "$($_.BaseName)-backup$($_.Extension)"
}

function Get-BackupRoot { $script:DefaultRoot }

if ($PSVersionTable.PSVersion.Major -ge 7) {
    function Get-BackupInfo {
        # Not help: just a note.
        [OutputType([pscustomobject])]
        param()
        [pscustomobject]@{ Root = $script:DefaultRoot }
    }
}

Export-ModuleMember -Function Invoke-Backup, Remove-OldBackup
