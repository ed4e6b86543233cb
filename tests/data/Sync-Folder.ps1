function Sync-Folder {
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([System.IO.FileInfo])]
    param(
        [Parameter(Mandatory, ValueFromPipeline)]
        [string] $Source,

        [Parameter(Mandatory)]
        [string] $Destination
    )

    process {
        Get-ChildItem -LiteralPath $Source -File | ForEach-Object {
            if ($PSCmdlet.ShouldProcess($_.FullName, "Copy to $Destination")) {
                Copy-Item -LiteralPath $_.FullName -Destination $Destination -PassThru
            }
        }
    }
}
